// Issue 17 item 3: finalize while one Redis Cluster primary is down (killed, nobody to take over)
// answers 202 saying which shard it waits for, and completes by itself once the node is back, rows exact.

import t from 'tap';
import { bucketKeys } from '../../src/redis/bucket-keys.js';
import { runExamTraffic, waitForExamState } from '../helpers/exam-traffic.js';
import { startTestCluster } from '../helpers/redis-cluster.js';
import { assertSqliteResults } from '../helpers/sqlite-results.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

const EXAM = 'CL-FIN-OUT';
const BUCKETS = 16;

interface Waiting {
  reason: string;
  shard: string;
  shards: string[];
  buckets: number;
  message: string;
}

interface ExamReply {
  state: string;
  waiting: Waiting | null;
  export: { bucketsDone: number; error: string | null };
}

t.test('finalize during a shard outage answers 202 with what it waits for, and exports exactly once the shard is back', async (t) => {
  // No replicas: the killed primary's slots stay uncovered until it is started again (no failover).
  // Full coverage not required, so the other shards keep serving meanwhile.
  const cluster = await startTestCluster(t, { primaries: 3, replicas: 0, requireFullCoverage: false });
  const ux = await startUntradexInProcess(t, {
    redis: { embedded: false, cluster: cluster.seeds, buckets: BUCKETS },
    gateway: { connectionActors: 2 },
    writers: { count: 2 },
    export: { exporters: 2, chunkSize: 20 },
  });
  const expected = await runExamTraffic(ux, EXAM, { students: 40, questions: 4, changes: 2, submitEvery: 2 }, (fn) => t.teardown(fn));

  // The victim serves some of the exam's buckets but not its state (meta and lease share one slot).
  const metaShard = await cluster.primaryOf(bucketKeys.meta(EXAM));
  const owners = await Promise.all(Array.from({ length: BUCKETS }, (_, bucket) => cluster.primaryOf(bucketKeys.log(EXAM, bucket))));
  const victim = owners.find((owner) => owner !== metaShard)!;
  const victimBuckets = owners.filter((owner) => owner === victim).length;
  t.ok(victim !== undefined && victimBuckets > 0, `the killed primary serves ${victimBuckets} of ${BUCKETS} buckets`);
  await victim.kill();

  const finalize = await ux.api<ExamReply>('POST', `/api/exams/${EXAM}/finalize`);
  t.equal(finalize.status, 202, 'finalize answers 202, not 503');
  t.equal(finalize.body.state, 'closing', 'the exam is closing: its buckets on the dead shard are not closed yet');
  // The reply names what is not closed yet: at least the dead shard (a healthy shard's close may
  // still be in flight on a loaded machine).
  t.match(finalize.body.waiting, { reason: 'redis_shard_unavailable' }, 'the reply says finalize waits for a Redis shard');
  t.ok(finalize.body.waiting?.shards.includes(`127.0.0.1:${victim.port}`), `the reply names the dead shard (${JSON.stringify(finalize.body.waiting?.shards)})`);

  // Once the healthy shards' buckets are closed, only the dead shard's remain.
  let during = await ux.api<ExamReply>('GET', `/api/exams/${EXAM}`);
  for (const deadline = Date.now() + 30_000; during.body.waiting?.buckets !== victimBuckets && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    during = await ux.api<ExamReply>('GET', `/api/exams/${EXAM}`);
  }
  t.equal(during.status, 200, 'the exam report answers during the outage');
  t.equal(during.body.state, 'closing', 'the exam waits; it has not failed');
  t.match(during.body.waiting, { reason: 'redis_shard_unavailable', shard: `127.0.0.1:${victim.port}`, shards: [`127.0.0.1:${victim.port}`], buckets: victimBuckets }, 'and says it waits for the dead shard\'s buckets only');
  t.match(during.body.waiting?.message, new RegExp(`127\\.0\\.0\\.1:${victim.port}`));
  t.equal((await ux.api<ExamReply>('POST', `/api/exams/${EXAM}/finalize`)).status, 202, 'finalize again during the outage joins the same wait');

  await victim.restart();
  const done = await waitForExamState(ux, EXAM, ['exported', 'failed'], 120_000);
  t.match(done, { state: 'exported', students: expected.students, events: expected.events, export: { bucketsDone: BUCKETS, error: null } }, 'the export completed by itself once the shard was back');
  t.equal((await ux.api<ExamReply>('GET', `/api/exams/${EXAM}`)).body.waiting, null, 'and waits for nothing any more');
  assertSqliteResults(t, ux.config.export.sqlite.path, expected);
});

t.test('waitReplicas 1 and a shard whose replica hangs: finalize answers 202 naming the shard, and exports exactly once the replica is back', async (t) => {
  // The 503: every close on that shard came back "only 0 of 1 replicas confirmed".
  const cluster = await startTestCluster(t, { primaries: 3, replicas: 1 });
  const ux = await startUntradexInProcess(t, {
    redis: { embedded: false, cluster: cluster.seeds, buckets: BUCKETS, waitReplicas: 1 },
    gateway: { connectionActors: 2 },
    writers: { count: 2 },
    export: { exporters: 2, chunkSize: 20 },
  });
  const exam = `${EXAM}-W1`;
  const expected = await runExamTraffic(ux, exam, { students: 30, questions: 3, changes: 2, submitEvery: 3 }, (fn) => t.teardown(fn));

  const metaShard = await cluster.primaryOf(bucketKeys.meta(exam));
  const owners = await Promise.all(Array.from({ length: BUCKETS }, (_, bucket) => cluster.primaryOf(bucketKeys.log(exam, bucket))));
  const short = owners.find((owner) => owner !== metaShard)!;
  const [replica] = await cluster.replicasOf(short);
  t.ok(replica !== undefined, `the primary on port ${short.port} has a replica, which is frozen now`);
  replica!.freeze();
  t.teardown(() => replica!.thaw());

  const finalize = await ux.api<ExamReply>('POST', `/api/exams/${exam}/finalize`);
  t.equal(finalize.status, 202, 'finalize answers 202, not 503');
  let during = finalize;
  for (const deadline = Date.now() + 30_000; during.body.waiting?.shards.join() !== `127.0.0.1:${short.port}` && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    during = await ux.api<ExamReply>('GET', `/api/exams/${exam}`);
  }
  t.equal(during.body.state, 'closing', 'the exam waits to be closed; it has not failed');
  t.match(during.body.waiting, { reason: 'redis_shard_unavailable', shard: `127.0.0.1:${short.port}`, buckets: owners.filter((owner) => owner === short).length }, 'it names the shard short of replicas');

  replica!.thaw();
  const done = await waitForExamState(ux, exam, ['exported', 'failed'], 120_000);
  t.match(done, { state: 'exported', students: expected.students, events: expected.events, export: { bucketsDone: BUCKETS, error: null } }, 'the export completed by itself once the replica was back');
  assertSqliteResults(t, ux.config.export.sqlite.path, expected);
});
