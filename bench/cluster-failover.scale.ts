// Redis Cluster failover under load (issue 17): acks/s and ack p99 before a primary is killed and
// during the failover, per topology and waitReplicas; the figures docs/REDIS-CLUSTER.md's table quotes.

import './support/untapped.js';
import t from 'tap';
import { StudentClient } from '../src/client/student-client.js';
import { bucketKeys, bucketOf } from '../src/redis/bucket-keys.js';
import { startTestCluster } from '../test/helpers/redis-cluster.js';
import { startUntradexProcess } from '../test/helpers/untradex.js';
import { measured, sleep } from './support/load.js';
import { ResultWriter } from './support/results.js';
import { envInt } from './support/sizes.js';

const STUDENTS = envInt('UX_BENCH_FAILOVER_STUDENTS', { small: 60, default: 200 });
/** Each student answers every this many ms (the issue's 200 students at 4 answers/s). */
const ANSWER_EVERY_MS = envInt('UX_BENCH_FAILOVER_PACE_MS', { small: 250, default: 250 });
const BEFORE_MS = envInt('UX_BENCH_FAILOVER_BEFORE_MS', { small: 5_000, default: 10_000 });
/** From the kill: long enough for cluster-node-timeout, the election and the catch-up. */
const DURING_MS = envInt('UX_BENCH_FAILOVER_DURING_MS', { small: 15_000, default: 20_000 });
const NODE_TIMEOUT_MS = envInt('UX_BENCH_FAILOVER_NODE_TIMEOUT_MS', { small: 5_000, default: 5_000 });
const BUCKETS = 64;

interface Setup {
  id: string;
  label: string;
  replicas: number;
  waitReplicas: number;
}

const SETUPS: Setup[] = [
  { id: 'r1w0', label: '1 replica per primary, waitReplicas 0', replicas: 1, waitReplicas: 0 },
  { id: 'r1w1', label: '1 replica per primary, waitReplicas 1', replicas: 1, waitReplicas: 1 },
  { id: 'r2w1', label: '2 replicas per primary, waitReplicas 1', replicas: 2, waitReplicas: 1 },
];

interface Window {
  acksPerSecond: number;
  p99Ms: number;
}

interface FailoverFigures {
  before: Window;
  during: Window;
  /** Longest time a student on a healthy shard went without an ack, from the kill on. */
  healthyGapMs: number;
  /** The same for the killed shard's students: how long they waited for the failover. */
  killedShardGapMs: number;
  /** Acks the students got in the whole run. */
  acked: number;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function failover(t: Parameters<Parameters<typeof measured>[2]>[0], setup: Setup, exam: string): Promise<FailoverFigures> {
  const cluster = await startTestCluster(t, { primaries: 3, replicas: setup.replicas, nodeTimeoutMs: NODE_TIMEOUT_MS, requireFullCoverage: false });
  const ux = await startUntradexProcess(t, {
    redis: { embedded: false, cluster: cluster.seeds, buckets: BUCKETS, waitReplicas: setup.waitReplicas },
    gateway: { connectionActors: 2 },
    writers: { count: 2 },
  });
  const victim = await cluster.primaryOf(bucketKeys.log(exam, 0));
  const students = Array.from({ length: STUDENTS }, (_, index) => `S${index}`);
  const onVictim = new Set<string>();
  for (const student of students) {
    if ((await cluster.primaryOf(bucketKeys.log(exam, bucketOf(exam, student, BUCKETS)))) === victim) onVictim.add(student);
  }
  const tokens = await ux.tokens(exam, students);
  // Every ack: when it came, how long after the answer was made, whose.
  const acks: Array<{ at: number; latencyMs: number; student: string }> = [];
  const startedAt = Date.now();
  const killAt = startedAt + BEFORE_MS;
  const stopAt = killAt + DURING_MS;
  let killed: Promise<void> | null = null;
  let restarted: Promise<void> | null = null;
  const killer = setTimeout(() => (killed = victim.kill()), BEFORE_MS);
  // After the window the killed node is started again, as an operator would: with one replica and
  // waitReplicas 1 its shard acks nothing until then (the promoted replica has no replica).
  const restarter = setTimeout(() => (restarted = killed!.then(() => victim.restart())), BEFORE_MS + DURING_MS);
  t.teardown(() => {
    clearTimeout(killer);
    clearTimeout(restarter);
  });

  await Promise.all(
    students.map(async (student) => {
      const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]!, reconnect: { baseMs: 50, maxMs: 500 } });
      t.teardown(() => client.close());
      const madeAt = new Map<number, number>();
      client.on('acked', (event) => {
        const now = Date.now();
        acks.push({ at: now, latencyMs: now - (madeAt.get(event.seq) ?? now), student });
      });
      await client.connect();
      for (let index = 0; Date.now() < stopAt; index += 1) {
        madeAt.set(client.answer(`Q${index % 10}`, `${student}-${index}`), Date.now());
        await sleep(ANSWER_EVERY_MS);
      }
      await client.flushed();
      await client.close();
    }),
  );
  await killed;
  await restarted;

  const window = (from: number, to: number): Window => {
    const inside = acks.filter((ack) => ack.at >= from && ack.at < to);
    return { acksPerSecond: inside.length / ((to - from) / 1000), p99Ms: percentile(inside.map((ack) => ack.latencyMs), 99) };
  };
  const gap = (group: (student: string) => boolean): number => {
    let worst = 0;
    for (const student of students.filter(group)) {
      const times = [killAt, ...acks.filter((ack) => ack.student === student && ack.at > killAt).map((ack) => ack.at)];
      for (let i = 1; i < times.length; i += 1) worst = Math.max(worst, times[i]! - times[i - 1]!);
    }
    return worst;
  };
  // The first second of the run is the students connecting: not "before" in the steady sense.
  return {
    before: window(startedAt + 1_000, killAt),
    during: window(killAt, stopAt),
    healthyGapMs: gap((student) => !onVictim.has(student)),
    killedShardGapMs: gap((student) => onVictim.has(student)),
    acked: acks.length,
  };
}

const result = new ResultWriter('cluster-failover', 'Redis Cluster: acks while one primary is killed and failed over');
Object.assign(result.sizes, { students: STUDENTS, answerEveryMs: ANSWER_EVERY_MS, beforeMs: BEFORE_MS, duringMs: DURING_MS, nodeTimeoutMs: NODE_TIMEOUT_MS, buckets: BUCKETS, primaries: 3 });

for (const setup of SETUPS) {
  const figures = await measured(t, setup.label, (sub) => failover(sub, setup, `FO-${setup.id.toUpperCase()}`));
  const before = `before the kill (${setup.label})`;
  result.add({ id: `failover.${setup.id}.acksPerSecond`, label: `acks/s during the failover, ${setup.label}`, value: figures.during.acksPerSecond, unit: 'acks/s', better: 'higher', baseline: { label: before, value: figures.before.acksPerSecond } });
  result.add({ id: `failover.${setup.id}.p99`, label: `ack p99 during the failover, ${setup.label}`, value: figures.during.p99Ms, unit: 'ms', better: 'lower', baseline: { label: before, value: figures.before.p99Ms } });
  result.add({ id: `failover.${setup.id}.healthyGap`, label: `longest ack gap of a healthy shard's student, ${setup.label}`, value: figures.healthyGapMs, unit: 'ms', better: 'lower' });
  result.add({ id: `failover.${setup.id}.killedGap`, label: `longest ack gap of the killed shard's students, ${setup.label}`, value: figures.killedShardGapMs, unit: 'ms', better: 'lower' });
  result.target({
    id: `failover.${setup.id}.healthy`,
    issue: 17,
    text: `students on healthy shards keep getting acks within 5 s of the kill (${setup.label})`,
    met: figures.healthyGapMs < 5_000,
    measured: `longest gap ${figures.healthyGapMs} ms; killed shard ${figures.killedShardGapMs} ms`,
  });
}
result.note(`3 primaries, cluster-node-timeout ${NODE_TIMEOUT_MS} ms, cluster-require-full-coverage no, appendfsync always, kill -9 of the primary serving bucket 0, ${STUDENTS} students answering every ${ANSWER_EVERY_MS} ms; Untradex in its own process (2 connection actors, 2 writers); every Redis node, Untradex and the students on the same box.`);
result.note('"during" is the kill and the following window: with one replica and waitReplicas 1 the promoted replica has no replica, so its shard acks nothing until the killed node is started again, which the run does when the window ends: the killed shard\'s gap is then the whole window and more.');

t.comment(result.table());
t.comment(`results: ${result.write()}`);
