// The exam lifecycle against a real Redis, with a scripted bucket runner standing in for the
// exporter pool: resume skips done buckets, failures are reported with their cause, and two
// processes finalizing at once run one job between them.

import { pino } from 'pino';
import t, { type Test } from 'tap';
import { RedisUnavailableError, serializeError, SinkError, type UntradexError } from '../../../src/errors.js';
import { ExamLifecycle } from '../../../src/export/exam-lifecycle.js';
import type { BucketTask, BucketTaskResult, BucketTaskRunner } from '../../../src/export/export-job.js';
import { bucketOf } from '../../../src/redis/bucket-keys.js';
import { BucketStore } from '../../../src/redis/bucket-store.js';
import { loadFunctionLibrary } from '../../../src/redis/function-library.js';
import { pollUntil } from '../../helpers/poll.js';
import { startTestRedis } from '../../helpers/redis-server.js';

const BUCKETS = 8;
const log = pino({ level: 'silent' });

/** A failed bucket as an exporter thread answers it: the error serialized with its class. */
function failedWith(error: UntradexError): BucketTaskResult {
  return { ok: false, error: serializeError(error) };
}

class ScriptedRunner implements BucketTaskRunner {
  readonly calls: number[] = [];
  constructor(private readonly answer: (task: BucketTask, attempt: number) => BucketTaskResult) {}
  async run(task: BucketTask): Promise<BucketTaskResult> {
    this.calls.push(task.bucket);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return this.answer(task, this.calls.filter((bucket) => bucket === task.bucket).length);
  }
}

/** Buckets 0 and 1 export, every later one waits for release(): a job stalled mid-export. */
class StalledRunner extends ScriptedRunner {
  release!: () => void;
  readonly #stall = new Promise<void>((resolve) => (this.release = resolve));

  constructor() {
    super(() => ({ ok: true, rows: 1 }));
  }

  override async run(task: BucketTask): Promise<BucketTaskResult> {
    if (task.bucket >= 2) await this.#stall;
    return super.run(task);
  }
}

/** Finalizes `exam` with a StalledRunner and lets the job take its lease and reach the stall. */
async function finalizeStalled(lifecycle: (runner: BucketTaskRunner) => ExamLifecycle, exam: string): Promise<{ exams: ExamLifecycle; release: () => void }> {
  const runner = new StalledRunner();
  const exams = lifecycle(runner);
  await exams.finalize(exam);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { exams, release: runner.release };
}

async function setup(t: Test) {
  const redis = (await startTestRedis(t)).client();
  await loadFunctionLibrary(redis);
  const store = new BucketStore(redis, BUCKETS);
  const lifecycle = (runner: BucketTaskRunner, attempts = 3) =>
    new ExamLifecycle(redis, store, { buckets: BUCKETS, bucketsAtOnce: 2, retainSeconds: null, backoff: (attempt) => (attempt < attempts ? 1 : null), runner: () => runner }, log);
  return { redis, store, lifecycle };
}

t.test('a failed export names its cause, and finalize again redoes only the buckets not done', async (t) => {
  const { lifecycle, store } = await setup(t);
  const failing = new ScriptedRunner((task) => (task.bucket === 5 ? failedWith(new SinkError(false, 'table is read-only')) : { ok: true, rows: 10 }));
  const first = lifecycle(failing);
  t.match(await first.finalize('LC-1'), { exam: 'LC-1', state: 'exporting' });
  await first.settled('LC-1');
  const failed = await first.report('LC-1');
  t.equal(failed.state, 'failed');
  t.match(failed.export.error, /bucket 5.*UX_ERR_SINK_PERMANENT.*table is read-only/);
  t.equal((await store.examCounts('LC-1')).closedBuckets, BUCKETS, 'every bucket was closed');

  const working = new ScriptedRunner(() => ({ ok: true, rows: 10 }));
  const second = lifecycle(working);
  await second.finalize('LC-1');
  await second.settled('LC-1');
  const done = await second.report('LC-1');
  t.equal(done.state, 'exported');
  t.same(working.calls.sort(), Array.from({ length: BUCKETS }, (_, b) => b).filter((b) => !failing.calls.includes(b) || b === 5).sort(), 'only unfinished buckets ran again');
  t.match(done.export, { bucketsDone: BUCKETS, bucketsTotal: BUCKETS, percent: 100, error: null });
  t.equal(done.export.rows, BUCKETS * 10);
});

t.test('transient failures are retried, then succeed', async (t) => {
  const { lifecycle } = await setup(t);
  const flaky = new ScriptedRunner((_task, attempt) => (attempt < 3 ? failedWith(new SinkError(true, 'connection reset')) : { ok: true, rows: 1 }));
  const exams = lifecycle(flaky, 5);
  await exams.finalize('LC-2');
  await exams.settled('LC-2');
  t.equal((await exams.report('LC-2')).state, 'exported');
  t.equal(flaky.calls.length, BUCKETS * 3, 'each bucket took three attempts');
});

t.test('transient failures past the retry budget fail the job', async (t) => {
  const { lifecycle } = await setup(t);
  const down = new ScriptedRunner(() => (failedWith(new SinkError(true, 'ECONNREFUSED'))));
  const exams = lifecycle(down, 2);
  await exams.finalize('LC-3');
  await exams.settled('LC-3');
  t.match(await exams.report('LC-3'), { state: 'failed', export: { error: /still failing after 2 attempts.*ECONNREFUSED/ } });
});

t.test('two processes finalizing at once: one holds the lease and runs the job', async (t) => {
  const { lifecycle } = await setup(t);
  const runnerA = new ScriptedRunner(() => ({ ok: true, rows: 1 }));
  const runnerB = new ScriptedRunner(() => ({ ok: true, rows: 1 }));
  const processA = lifecycle(runnerA);
  const processB = lifecycle(runnerB);
  await Promise.all([processA.finalize('LC-4'), processB.finalize('LC-4')]);
  await Promise.all([processA.settled('LC-4'), processB.settled('LC-4')]);
  t.equal(runnerA.calls.length + runnerB.calls.length, BUCKETS, 'every bucket exported once, by one of them');
  t.equal((await processB.report('LC-4')).state, 'exported', 'both see the same state');
  t.equal((await processA.report('LC-4')).state, 'exported');
});

t.test('purge refuses an exam that is not exported, and removes the data of one that is; it stays exported', async (t) => {
  const { lifecycle, redis, store } = await setup(t);
  const exams = lifecycle(new ScriptedRunner(() => ({ ok: true, rows: 0 })));
  await t.rejects(exams.purge('LC-5'), { code: 'UX_ERR_CONTROL' });
  const { epoch } = await store.claimSession('LC-5', 'S1');
  const bucket = bucketOf('LC-5', 'S1', BUCKETS);
  await store.writeBatch('LC-5', bucket, [{ student: 'S1', epoch, seq: 1, kind: 'open', question: null, value: null, clientTs: null, serverTs: Date.now() }]);
  await exams.finalize('LC-5');
  await exams.settled('LC-5');
  const { deletedKeys } = await exams.purge('LC-5');
  t.ok(deletedKeys >= 2, `the bucket's log and student states are gone (${deletedKeys} keys)`);
  t.equal(await redis.exists(`ux:{LC-5:${bucket}}:log`, `ux:{LC-5:${bucket}}:seq`), 0);
  t.equal(await redis.exists('ux:{LC-5}:meta'), 1, 'the meta stays: the exam is exported for good');
  t.equal(await redis.exists(`ux:{LC-5:${bucket}}:closed`), 1, 'and so does every close marker');
  t.match(await exams.report('LC-5'), { state: 'exported', students: 1, events: 1 }, 'it reads as exported, with its counts at export');
  t.match(await store.claimSession('LC-5', 'S1'), { closed: true, lastSeq: 0 }, 'a new hello is told the exam is closed');
  t.equal(await redis.exists(`ux:{LC-5:${bucket}}:seq`), 0, 'and writes nothing back');
  t.match(await exams.finalize('LC-5'), { state: 'exported' }, 'finalize again is a no-op');
});

t.test('with export.retainSeconds, exported data expires from Redis after that long', async (t) => {
  const redis = (await startTestRedis(t)).client();
  await loadFunctionLibrary(redis);
  const store = new BucketStore(redis, BUCKETS);
  await store.claimSession('LC-6', 'S1');
  const bucket = bucketOf('LC-6', 'S1', BUCKETS);
  await store.writeBatch('LC-6', bucket, [{ student: 'S1', epoch: 1, seq: 1, kind: 'open', question: null, value: null, clientTs: null, serverTs: Date.now() }]);
  const exams = new ExamLifecycle(redis, store, { buckets: BUCKETS, bucketsAtOnce: 2, retainSeconds: 3600, backoff: () => null, runner: () => new ScriptedRunner(() => ({ ok: true, rows: 1 })) }, log);
  await exams.finalize('LC-6');
  await exams.settled('LC-6');
  t.equal((await exams.report('LC-6')).state, 'exported');
  for (const key of [`ux:{LC-6:${bucket}}:log`, `ux:{LC-6:${bucket}}:seq`]) {
    const ttl = await redis.ttl(key);
    t.ok(ttl > 3500 && ttl <= 3600, `${key} expires in about an hour (ttl ${ttl})`);
  }
  for (const key of ['ux:{LC-6}:meta', `ux:{LC-6:${bucket}}:closed`]) {
    t.equal(await redis.ttl(key), -1, `${key} never expires: the exam stays exported`);
  }
  const kept = new ExamLifecycle(redis, store, { buckets: BUCKETS, bucketsAtOnce: 2, retainSeconds: null, backoff: () => null, runner: () => new ScriptedRunner(() => ({ ok: true, rows: 1 })) }, log);
  await store.claimSession('LC-7', 'S1');
  await kept.finalize('LC-7');
  await kept.settled('LC-7');
  t.equal(await redis.ttl(`ux:{LC-7:${bucketOf('LC-7', 'S1', BUCKETS)}}:seq`), -1, 'without retainSeconds the data stays until purged');
});

t.test('the lease fences every write: a stale owner can neither mark buckets nor change the state', async (t) => {
  const { lifecycle, redis } = await setup(t);
  const meta = lifecycle(new ScriptedRunner(() => ({ ok: true, rows: 1 }))).meta;
  await meta.markClosing('LC-F');
  t.ok(await meta.acquireLease('LC-F', 'old-owner', 200), 'the old owner holds the lease');
  t.equal(await meta.setState('LC-F', 'old-owner', 'exporting'), 'written');
  t.equal(await meta.markBucketDone('LC-F', 0, 5, 'old-owner'), 'written');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.ok(await meta.acquireLease('LC-F', 'new-owner', 10_000), 'the lease lapsed; a new owner takes it');
  t.equal(await meta.markBucketDone('LC-F', 1, 5, 'old-owner'), 'not_lease_holder', 'the stale owner cannot mark a bucket done');
  t.equal(await meta.setState('LC-F', 'old-owner', 'failed', { error: 'stale' }), 'not_lease_holder', 'nor record a failure');
  t.same([...(await meta.read('LC-F')).doneBuckets.keys()], [0], 'only the bucket marked while it held the lease');
  t.equal(await meta.setState('LC-F', 'new-owner', 'exported', { finishedAt: 1 }), 'written');
  t.equal(await meta.setState('LC-F', 'new-owner', 'failed', { error: 'late' }), 'exported', 'exported is for good, even for the holder');
  t.equal(await meta.setState('LC-F', 'new-owner', 'exporting'), 'exported');
  t.match(await meta.read('LC-F'), { state: 'exported', error: null });
  void redis;
});

t.test('a lease that cannot be renewed stops the job without writing anything', async (t) => {
  const { lifecycle, redis } = await setup(t);
  const { exams, release } = await finalizeStalled(lifecycle, 'LC-R');
  // Another process takes the lease as if ours had lapsed (a long pause, a partition).
  await redis.set('ux:{LC-R}:lock', 'intruder', 'PX', 60_000);
  await new Promise((resolve) => setTimeout(resolve, 3_500)); // one renewal period
  release();
  await exams.settled('LC-R');
  const meta = await exams.meta.read('LC-R');
  t.equal(meta.state, 'exporting', 'the job did not record failed or exported: it is not the holder');
  t.ok(meta.doneBuckets.size < BUCKETS, `it stopped marking buckets (${meta.doneBuckets.size} of ${BUCKETS})`);
  t.equal(await redis.get('ux:{LC-R}:lock'), 'intruder', "it did not release the other's lease");
});

t.test('a finalize that finds a dead owner\'s lease takes the job over once it lapses', async (t) => {
  const { lifecycle, redis } = await setup(t);
  const exams = lifecycle(new ScriptedRunner(() => ({ ok: true, rows: 2 })));
  await exams.meta.markClosing('LC-T');
  t.ok(await exams.meta.acquireLease('LC-T', 'dead-process', 1_500), 'a process that died mid-export left its lease');
  t.equal(await exams.meta.setState('LC-T', 'dead-process', 'exporting'), 'written');
  t.equal(await exams.meta.markBucketDone('LC-T', 3, 2, 'dead-process'), 'written');
  const first = await exams.finalize('LC-T');
  t.equal(first.state, 'exporting', 'one finalize: it reads exporting while it waits for the lease');
  const report = await pollUntil('the lapsed lease to be taken over and the export to end', () => exams.report('LC-T'), (seen) => seen.state === 'exported' || seen.state === 'failed', { timeoutMs: 10_000, intervalMs: 100 });
  t.equal(report.state, 'exported', 'exported without a second finalize, never failed while the lease lapsed and was taken over');
  t.equal(report.export.bucketsDone, BUCKETS);
  t.equal(await redis.get('ux:{LC-T}:lock'), null, 'the lease is released');
});

t.test('a lease that lapsed during a stall, with nobody else taking it, is taken again and the job finishes', async (t) => {
  const { lifecycle, redis } = await setup(t);
  const { exams, release } = await finalizeStalled(lifecycle, 'LC-S');
  await redis.del('ux:{LC-S}:lock'); // what a lapse looks like from Redis: nobody holds it
  await new Promise((resolve) => setTimeout(resolve, 3_500)); // one renewal period
  release();
  await exams.settled('LC-S');
  t.equal((await exams.report('LC-S')).state, 'exported', 'the job took the lease again and finished');
});

t.test('a bucket whose Redis shard does not answer is retried past the retry budget, shown as waiting, and exported once it answers', async (t) => {
  const { lifecycle } = await setup(t);
  let shardBack = false;
  const runner = new ScriptedRunner((task) =>
    task.bucket === 3 && !shardBack ? failedWith(new RedisUnavailableError('reading bucket 3 got no answer within 5000 ms')) : { ok: true, rows: 2 },
  );
  const exams = lifecycle(runner, 2);
  await exams.finalize('LC-SHARD');
  // Well past the sink's budget of 2 attempts: the job still waits.
  while (runner.calls.filter((bucket) => bucket === 3).length < 4) await new Promise((resolve) => setTimeout(resolve, 50));
  const waiting = await exams.report('LC-SHARD');
  t.equal(waiting.state, 'exporting', 'the export has not failed');
  t.match(waiting.waiting, { reason: 'redis_shard_unavailable', buckets: 1, shards: [/^127\.0\.0\.1:\d+$/] }, 'it says it waits for one bucket on the Redis shard');
  shardBack = true;
  await exams.settled('LC-SHARD');
  const done = await exams.report('LC-SHARD');
  t.match(done, { state: 'exported', export: { bucketsDone: BUCKETS, rows: BUCKETS * 2, error: null }, waiting: null });
});
