// The exam lifecycle on Redis Cluster: meta state (a one-slot MULTI), the export lease (one-key
// scripts), and purge and retention, whose keys span every shard and so go one command per key.

import { pino } from 'pino';
import t from 'tap';
import { ExamLifecycle } from '../../src/export/exam-lifecycle.js';
import type { BucketTaskResult, BucketTaskRunner } from '../../src/export/export-job.js';
import { bucketKeys, bucketOf } from '../../src/redis/bucket-keys.js';
import { BucketStore } from '../../src/redis/bucket-store.js';
import { libraryClient, startTestCluster } from '../helpers/redis-cluster.js';

const BUCKETS = 8;
const log = pino({ level: 'silent' });

const cluster = await startTestCluster(t, { primaries: 3 });
const redis = await libraryClient(cluster, 'lifecycle');
const store = new BucketStore(redis, BUCKETS);

const runner: BucketTaskRunner = { run: async (): Promise<BucketTaskResult> => ({ ok: true, rows: 1 }) };
const lifecycle = (retainSeconds: number | null) =>
  new ExamLifecycle(redis, store, { buckets: BUCKETS, bucketsAtOnce: 2, retainSeconds, backoff: () => null, runner: () => runner }, log);

/** Writes one event into every bucket, so the exam has keys on every shard. */
async function fill(exam: string): Promise<string[]> {
  const keys = new Set<string>();
  const seen = new Set<number>();
  for (let i = 0; seen.size < BUCKETS; i += 1) {
    const student = `S${i}`;
    const bucket = bucketOf(exam, student, BUCKETS);
    if (seen.has(bucket)) continue;
    seen.add(bucket);
    await store.claimSession(exam, student);
    await store.writeBatch(exam, bucket, [{ student, epoch: 1, seq: 1, kind: 'open', question: null, value: null, clientTs: null, serverTs: Date.now() }]);
    keys.add(bucketKeys.log(exam, bucket)).add(bucketKeys.seq(exam, bucket)).add(bucketKeys.roster(exam, bucket));
  }
  const owners = new Set(await Promise.all([...keys].map(async (key) => (await cluster.primaryOf(key)).port)));
  if (owners.size !== 3) throw new Error(`the exam's keys are on ${owners.size} primaries, not 3`);
  return [...keys];
}

t.test('finalize, report and purge across shards', async (t) => {
  const exam = 'LCC-1';
  const keys = await fill(exam);
  const exams = lifecycle(null);
  await exams.finalize(exam);
  await exams.settled(exam);
  t.match(await exams.report(exam), { state: 'exported', students: BUCKETS, events: BUCKETS, export: { bucketsDone: BUCKETS, rows: BUCKETS } });
  t.equal(await exams.meta.leaseHolder(exam), null, 'the lease was released');
  const { deletedKeys } = await exams.purge(exam);
  t.equal(deletedKeys, keys.length, 'every log, state hash and roster on every shard');
  const left = await Promise.all(keys.map((key) => redis.exists(key)));
  t.same(left.filter((n) => n !== 0), [], 'none of the exam\'s data is left on any shard');
  const tombstone = await Promise.all([bucketKeys.meta(exam), ...Array.from({ length: BUCKETS }, (_, b) => bucketKeys.closed(exam, b))].map((key) => redis.exists(key)));
  t.ok(tombstone.every((n) => n === 1), 'the meta and every close marker stay, on every shard');
  t.match(await exams.report(exam), { state: 'exported', students: BUCKETS, events: BUCKETS }, 'it reads exported for good');
});

t.test('retention sets a TTL on keys of every shard', async (t) => {
  const exam = 'LCC-2';
  const keys = await fill(exam);
  const exams = lifecycle(3600);
  await exams.finalize(exam);
  await exams.settled(exam);
  t.equal((await exams.report(exam)).state, 'exported');
  for (const key of keys) {
    const ttl = await redis.ttl(key);
    t.ok(ttl > 3500 && ttl <= 3600, `${key} expires in about an hour (ttl ${ttl})`);
  }
  t.equal(await redis.ttl(bucketKeys.meta(exam)), -1, 'the meta never expires: the exam stays exported');
});

t.test('the export lease is held by one owner at a time', async (t) => {
  const exams = lifecycle(null);
  t.equal(await exams.meta.acquireLease('LCC-3', 'a', 10_000), true);
  t.equal(await exams.meta.acquireLease('LCC-3', 'b', 10_000), false);
  t.equal(await exams.meta.renewLease('LCC-3', 'b', 10_000), false, 'only the holder renews');
  t.equal(await exams.meta.renewLease('LCC-3', 'a', 10_000), true);
  await exams.meta.releaseLease('LCC-3', 'b');
  t.equal(await exams.meta.leaseHolder('LCC-3'), 'a', 'only the holder releases');
  await exams.meta.releaseLease('LCC-3', 'a');
  t.equal(await exams.meta.leaseHolder('LCC-3'), null);
});
