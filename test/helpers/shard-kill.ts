// The shard-isolation scenario of issue 17: a Redis Cluster primary killed under load; students on
// healthy shards must keep being acked, and after the failover (or the node's return) everyone is, with the sink exact.

import type { Test } from 'tap';
import { StudentClient } from '../../src/client/student-client.js';
import type { OutboxEvent } from '../../src/client/types.js';
import { bucketKeys, bucketOf } from '../../src/redis/bucket-keys.js';
import { expectedFromAcked, waitForExamState } from './exam-traffic.js';
import { startTestCluster } from './redis-cluster.js';
import { assertSqliteResults } from './sqlite-results.js';
import { startUntradexInProcess } from './untradex.js';

const STUDENTS = 60;
const BUCKETS = 16;
const ANSWER_EVERY_MS = 100;
/** Acked events (all students) before the kill, and how long students go on answering after it. */
const KILL_AFTER_ACKS = 1_500;
const ANSWER_AFTER_KILL_MS = 9_000;
/** The promise: a healthy shard's students never wait this long for an ack. */
const HEALTHY_GAP_MS = 5_000;

export interface ShardKillOptions {
  exam: string;
  /** Replicas per primary. */
  replicas: number;
  /** redis.waitReplicas. */
  waitReplicas: number;
  /** cluster-node-timeout in ms; default 5000. */
  nodeTimeoutMs?: number;
  /**
   * The orphaned-primary case: once the killed primary's replica is promoted (with no replica of
   * its own, its writes cannot meet waitReplicas), wait this long, then start the killed node again:
   * it rejoins as the promoted one's replica. Students answer until a while after that.
   */
  restartAfterPromotionMs?: number;
}

/** How long students go on answering once the killed node is back, in the orphaned-primary case. */
const ANSWER_AFTER_RESTART_MS = 3_000;

export async function killPrimaryUnderLoad(t: Test, options: ShardKillOptions): Promise<void> {
  // Without full coverage required, the healthy shards keep serving while the dead one's slots are
  // uncovered; with it (Redis's default) every node answers CLUSTERDOWN until the replica is promoted.
  const cluster = await startTestCluster(t, { primaries: 3, replicas: options.replicas, nodeTimeoutMs: options.nodeTimeoutMs ?? 5_000, requireFullCoverage: false });
  const ux = await startUntradexInProcess(t, {
    redis: { embedded: false, cluster: cluster.seeds, buckets: BUCKETS, waitReplicas: options.waitReplicas },
    gateway: { connectionActors: 2 },
    writers: { count: 2 },
  });
  const victim = await cluster.primaryOf(bucketKeys.log(options.exam, 0));
  const students = Array.from({ length: STUDENTS }, (_, index) => `S${index}`);
  const onVictim = new Set<string>();
  for (const student of students) {
    if ((await cluster.primaryOf(bucketKeys.log(options.exam, bucketOf(options.exam, student, BUCKETS)))) === victim) onVictim.add(student);
  }
  t.ok(onVictim.size > 0 && onVictim.size < STUDENTS, `${onVictim.size} of ${STUDENTS} students live on the shard that is killed`);

  const tokens = await ux.tokens(options.exam, students);
  const acked = new Map<string, OutboxEvent[]>();
  const ackTimes = new Map<string, number[]>();
  let ackedTotal = 0;
  let killedAt: number | null = null;
  let killed: Promise<void> | null = null;
  let answering = true;
  // What happens after the kill, and when students stop answering: a fixed time, or (orphaned
  // primary) the promotion, a while orphaned, the dead node started again, a while after that.
  const afterKill = async (): Promise<void> => {
    await killed;
    if (options.restartAfterPromotionMs === undefined) {
      await new Promise((resolve) => setTimeout(resolve, ANSWER_AFTER_KILL_MS));
    } else {
      let promoted = await cluster.primaryOf(bucketKeys.log(options.exam, 0));
      for (const deadline = Date.now() + 60_000; promoted === victim; promoted = await cluster.primaryOf(bucketKeys.log(options.exam, 0))) {
        if (Date.now() > deadline) throw new Error('the killed primary\'s replica was not promoted');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      t.same(await cluster.replicasOf(promoted), [], `the promoted replica (port ${promoted.port}) has no replica: its writes cannot meet waitReplicas ${options.waitReplicas}`);
      await new Promise((resolve) => setTimeout(resolve, options.restartAfterPromotionMs));
      await victim.restart();
      t.comment(`killed node started again ${Date.now() - killedAt!} ms after the kill`);
      let replicas = await cluster.replicasOf(promoted);
      for (const deadline = Date.now() + 30_000; !replicas.includes(victim) && Date.now() < deadline; replicas = await cluster.replicasOf(promoted)) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      t.same(replicas, [victim], 'the killed node rejoined as the replica of the promoted one');
      await new Promise((resolve) => setTimeout(resolve, ANSWER_AFTER_RESTART_MS));
    }
    answering = false;
  };
  let scenario: Promise<void> | null = null;

  await Promise.all(
    students.map(async (student) => {
      const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]!, reconnect: { baseMs: 50, maxMs: 500 } });
      t.teardown(() => client.close());
      const mine: OutboxEvent[] = [];
      const times: number[] = [];
      acked.set(student, mine);
      ackTimes.set(student, times);
      client.on('acked', (event) => {
        mine.push(event);
        times.push(Date.now());
        ackedTotal += 1;
        if (killed === null && ackedTotal >= KILL_AFTER_ACKS) {
          killedAt = Date.now();
          killed = victim.kill();
          scenario = afterKill();
          scenario.catch(() => (answering = false));
        }
      });
      client.on('nacked', (event, code) => t.fail(`unexpected nack ${code} for ${student} seq ${event.seq}`));
      await client.connect();
      client.open();
      for (let index = 0; answering; index += 1) {
        client.answer(`Q${index % 5}`, `${student}-v${index}`);
        await new Promise((resolve) => setTimeout(resolve, ANSWER_EVERY_MS));
      }
      client.submit();
      await client.flushed();
      await client.close();
    }),
  );
  t.ok(killed !== null, 'the primary was killed during ingest');
  await killed;
  await scenario;

  // The longest time each student went without an ack, from just before the kill to its last ack.
  const gapOf = (student: string): number => {
    const times = [killedAt!, ...ackTimes.get(student)!.filter((time) => time > killedAt!)];
    let longest = 0;
    for (let index = 1; index < times.length; index += 1) longest = Math.max(longest, times[index]! - times[index - 1]!);
    return longest;
  };
  const healthyGaps = students.filter((student) => !onVictim.has(student)).map(gapOf);
  const victimGaps = [...onVictim].map(gapOf);
  const worstHealthy = Math.max(...healthyGaps);
  t.comment(`longest ack gap after the kill: healthy shards ${worstHealthy} ms, killed shard ${Math.max(...victimGaps)} ms`);
  t.ok(worstHealthy < HEALTHY_GAP_MS, `every student on a healthy shard was acked at least every ${HEALTHY_GAP_MS} ms (worst ${worstHealthy} ms)`);
  const writers = await Promise.all(ux.app.root.writerActors.map((writer) => writer.api.status()));
  t.comment(`events answered Unavailable: ${writers.map((w) => w.shards?.unavailable ?? 0).join(', ')}; late calls: ${writers.map((w) => w.shards?.lateCalls ?? 0).join(', ')}`);

  const expected = expectedFromAcked(options.exam, acked);
  t.equal(expected.submissions, STUDENTS, 'everyone, on the killed shard too, was acked to the end after the failover');
  t.equal((await ux.api('POST', `/api/exams/${options.exam}/finalize`)).status, 202);
  const done = await waitForExamState(ux, options.exam, ['exported', 'failed'], 60_000);
  t.match(done, { state: 'exported', students: STUDENTS, events: expected.events });
  assertSqliteResults(t, ux.config.export.sqlite.path, expected);
}
