// Measures what redis.waitReplicas costs on a local 3-primary, 3-replica Redis Cluster: the same
// student load with waitReplicas 0 and 1, alternated: throughput (a burst) or ack latency (paced).
// Not a test (no pass condition): run `node dist/test/cluster/wait-replicas-cost.js` after a build.

import { StudentClient } from '../../src/client/student-client.js';
import { startTestCluster } from '../helpers/redis-cluster.js';
import type { TeardownHost } from '../helpers/redis-server.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

const STUDENTS = Number(process.env.UX_COST_STUDENTS ?? '200');
const ANSWERS = Number(process.env.UX_COST_ANSWERS ?? '50');
const ROUNDS = Number(process.env.UX_COST_ROUNDS ?? '2');
/** 0: every answer at once (throughput); n: each student answers every n ms (latency at a steady load). */
const PACE_MS = Number(process.env.UX_COST_PACE_MS ?? '0');

/** Runs teardowns in reverse order, as tap does. */
class Teardowns implements TeardownHost {
  private readonly fns: Array<() => unknown> = [];
  teardown(fn: () => unknown): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.fns.reverse()) await fn();
  }
}

interface Run {
  waitReplicas: number;
  events: number;
  seconds: number;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function burst(seeds: string[], waitReplicas: number, exam: string): Promise<Run> {
  const host = new Teardowns();
  try {
    const ux = await startUntradexInProcess(host, {
      redis: { embedded: false, cluster: seeds, waitReplicas },
      gateway: { connectionActors: 2 },
      writers: { count: 2 },
    });
    const students = Array.from({ length: STUDENTS }, (_, index) => `S${index}`);
    const tokens = await ux.tokens(exam, students);
    const clients = students.map((student) => new StudentClient({ url: ux.gatewayUrl, token: tokens[student]! }));
    host.teardown(() => Promise.all(clients.map((client) => client.close())));
    await Promise.all(clients.map((client) => client.connect()));
    const latencies: number[] = [];
    for (const client of clients) {
      client.on('acked', (event) => {
        if (event.firstSentAt !== null && event.settledAt !== null) latencies.push(event.settledAt - event.firstSentAt);
      });
    }
    const started = performance.now();
    if (PACE_MS === 0) {
      for (const client of clients) for (let index = 0; index < ANSWERS; index += 1) client.answer(`Q${index % 10}`, `v${index}`);
    } else {
      await Promise.all(
        clients.map(async (client, offset) => {
          // Spread the students over one interval so the load is steady, not in waves.
          await new Promise((resolve) => setTimeout(resolve, (offset * PACE_MS) / clients.length));
          for (let index = 0; index < ANSWERS; index += 1) {
            client.answer(`Q${index % 10}`, `v${index}`);
            await new Promise((resolve) => setTimeout(resolve, PACE_MS));
          }
        }),
      );
    }
    await Promise.all(clients.map((client) => client.flushed()));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return { waitReplicas, events: latencies.length, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await host.run();
  }
}

const host = new Teardowns();
try {
  const cluster = await startTestCluster(host, { primaries: 3, replicas: 1 });
  const runs: Run[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const waitReplicas of [0, 1]) runs.push(await burst(cluster.seeds, waitReplicas, `COST-${round}-${waitReplicas}`));
  }
  const load = PACE_MS === 0 ? 'all at once' : `one every ${PACE_MS} ms per student`;
  console.log(`${STUDENTS} students x ${ANSWERS} answers, ${load}; 3 primaries + 3 replicas, appendfsync always, 2 writers`);
  console.log('| waitReplicas | events | seconds | events/s | ack p50 ms | ack p99 ms |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const run of runs) {
    console.log(`| ${run.waitReplicas} | ${run.events} | ${run.seconds.toFixed(2)} | ${Math.round(run.events / run.seconds)} | ${run.p50.toFixed(1)} | ${run.p99.toFixed(1)} |`);
  }
} finally {
  await host.run();
}
