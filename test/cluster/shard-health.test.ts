// Per-shard health on a Redis Cluster (issue 17 item 2), with Untradex started as `npm start` does
// and waitReplicas 1: a replica killed shows in GET /api/status (redis.shards) and in /readyz's
// reasons, and is logged once, in words that say what to do; back in sync, all is well again.

import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { ShardReport } from '../../src/control/control-backend.js';
import { SHARD_CHECK_INTERVAL_MS } from '../../src/redis/shard-health.js';
import { logLines } from '../helpers/log-lines.js';
import { startTestCluster } from '../helpers/redis-cluster.js';
import { startUntradexProcess, type UntradexProcess } from '../helpers/untradex.js';

async function shardsNow(ux: UntradexProcess): Promise<ShardReport[]> {
  const reply = await ux.api<{ redis: { shards?: ShardReport[] } }>('GET', '/api/status');
  return reply.body.redis.shards ?? [];
}

/** Polls the status until `wanted` holds for the shard of `primary` (a state, not a time, decides). */
async function shardOf(ux: UntradexProcess, primary: string, wanted: (shard: ShardReport) => boolean): Promise<ShardReport> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const shard = (await shardsNow(ux)).find((candidate) => candidate.primary === primary);
    if (shard !== undefined && wanted(shard)) return shard;
    if (Date.now() > deadline) throw new Error(`shard ${primary} never matched: ${JSON.stringify(shard)}`);
    await sleep(200);
  }
}

async function readyz(ux: UntradexProcess): Promise<{ status: number; reasons: string[] }> {
  const response = await fetch(`${ux.controlUrl}/readyz`);
  return { status: response.status, reasons: ((await response.json()) as { reasons: string[] }).reasons };
}

t.test('a killed replica is seen, logged once and reported; its return is seen too', async (t) => {
  const cluster = await startTestCluster(t, { primaries: 3, replicas: 1 });
  const ux = await startUntradexProcess(t, {
    redis: { embedded: false, cluster: cluster.seeds, waitReplicas: 1, buckets: 8 },
    gateway: { connectionActors: 1 },
    writers: { count: 1 },
    log: { level: 'info' },
  });
  const primaryNode = cluster.nodes[0]!;
  const primary = `127.0.0.1:${primaryNode.port}`;
  const [replicaNode] = await cluster.replicasOf(primaryNode);
  if (replicaNode === undefined) throw new Error(`${primary} has no replica`);

  const before = await shardsNow(ux);
  t.equal(before.length, 3, 'one entry per shard');
  t.ok(before.every((shard) => shard.ok && shard.replicasInSync === 1 && shard.waitReplicas === 1 && shard.reason === null), 'every shard has its replica in sync');
  t.same(before.find((shard) => shard.primary === primary)?.replicas, [{ node: `127.0.0.1:${replicaNode.port}`, inSync: true }]);
  t.equal((await readyz(ux)).status, 200);

  await replicaNode.kill();
  const lapsed = await shardOf(ux, primary, (shard) => !shard.ok);
  t.match(lapsed, { primary, replicas: [], replicasInSync: 0, waitReplicas: 1, ok: false, reason: `primary ${primary} has 0 replicas and waitReplicas is 1` });
  t.match(lapsed.reason, /start a replica for it, or add one/);
  t.ok((await shardsNow(ux)).filter((shard) => shard.primary !== primary).every((shard) => shard.ok), 'the other shards stay healthy');
  const ready = await readyz(ux);
  t.equal(ready.status, 503);
  t.ok(ready.reasons.some((reason) => reason.startsWith(`redis shard ${primary}: primary ${primary} has 0 replicas`)), `/readyz names the shard: ${JSON.stringify(ready.reasons)}`);

  // Give the watch a few more rounds with the replica still gone: they must not log again.
  await sleep(3 * SHARD_CHECK_INTERVAL_MS);
  await replicaNode.restart();
  await cluster.waitHealthy();
  await shardOf(ux, primary, (shard) => shard.ok && shard.replicasInSync === 1);
  for (let attempt = 0; (await readyz(ux)).status !== 200; attempt += 1) {
    if (attempt > 100) throw new Error(`still not ready: ${JSON.stringify(await readyz(ux))}`);
    await sleep(100);
  }

  const lines = logLines(ux.output());
  const warnings = lines.filter((line) => line.level === 40 && line.primary === primary);
  t.equal(warnings.length, 1, 'one warning for the whole lapse');
  t.match(warnings[0]?.msg, `primary ${primary} has 0 replicas and waitReplicas is 1: its buckets get no acks until one more is in sync; start a replica for it, or add one`);
  t.equal(lines.filter((line) => line.level === 30 && line.primary === primary && /in sync again/.test(String(line.msg))).length, 1, 'and one line when it is over');
  t.equal(lines.filter((line) => line.level === 40 && line.primary !== undefined && line.primary !== primary).length, 0, 'nothing about the healthy shards');
});
