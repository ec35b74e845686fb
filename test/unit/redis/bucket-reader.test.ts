// BucketReader reads a bucket in chunks no larger than chunkSize, and every row exactly once,
// for small hashes (listpack encoded, returned whole by HSCAN) and large ones (real cursors).
import t from 'tap';
import { WriteOutcome } from '../../../src/events/answer-event.js';
import { BucketReader } from '../../../src/redis/bucket-reader.js';
import { bucketKeys } from '../../../src/redis/bucket-keys.js';
import type { EventToWrite } from '../../../src/redis/bucket-store.js';
import { answer, ev, storeFixture } from './store-fixture.js';

async function chunksOf<T>(iterable: AsyncIterable<T[]>): Promise<T[][]> {
  const chunks: T[][] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return chunks;
}

type Asserts = Pick<typeof t, 'equal' | 'ok'>;

function checkSizes(t: Asserts, chunks: unknown[][], chunkSize: number, total: number, what: string): void {
  t.equal(chunks.flat().length, total, `${what}: every row`);
  t.ok(chunks.every((c) => c.length > 0 && c.length <= chunkSize), `${what}: no chunk empty or above ${chunkSize}`);
  t.ok(chunks.slice(0, -1).every((c) => c.length === chunkSize), `${what}: only the last chunk is short`);
}

for (const [label, students, questions] of [
  ['small bucket', 6, 5],
  ['large bucket (hashtable-encoded hashes)', 60, 10],
] as const) {
  t.test(`${label}: chunked reads return every row once`, async (t) => {
    const { store, redis } = await storeFixture(t, 1);
    const chunkSize = 7;
    const events: EventToWrite[] = [];
    let submitted = 0;
    for (let s = 0; s < students; s++) {
      const student = `S${s}`;
      await store.claimSession('E1', student);
      events.push(ev(student, 1, 1, 'open'));
      for (let q = 0; q < questions; q++) events.push(answer(student, 1, q + 2, `Q${q}`, `${student}-${q}`));
      if (s % 3 === 0) {
        events.push(ev(student, 1, questions + 2, 'submit'));
        submitted++;
      }
    }
    const outcomes = await store.writeBatch('E1', 0, events);
    t.ok(outcomes.every((o) => o === WriteOutcome.Stored));
    const reader = new BucketReader(redis, 'E1', 0, chunkSize);

    const eventChunks = await chunksOf(reader.events());
    checkSizes(t, eventChunks, chunkSize, events.length, 'events');
    t.same(
      eventChunks.flat().map((r) => `${r.studentId}:${r.seq}`),
      events.map((e) => `${e.student}:${e.seq}`),
      'events in stored order',
    );

    const answerChunks = await chunksOf(reader.answers());
    checkSizes(t, answerChunks, chunkSize, students * questions, 'answers');
    const keys = answerChunks.flat().map((r) => `${r.studentId}|${r.questionId}`);
    t.equal(new Set(keys).size, keys.length, 'no answer twice');
    t.ok(answerChunks.flat().every((r) => r.value === `${r.studentId}-${r.questionId.slice(1)}`));

    const submissionChunks = await chunksOf(reader.submissions());
    checkSizes(t, submissionChunks, chunkSize, submitted, 'submissions');
    t.ok(submissionChunks.flat().every((r) => Number(r.studentId.slice(1)) % 3 === 0 && r.lastSeq === questions + 2));
  });
}

t.test('an empty or unknown bucket yields no chunks', async (t) => {
  const { redis } = await storeFixture(t, 1);
  const reader = new BucketReader(redis, 'NOPE', 0, 10);
  t.same(await chunksOf(reader.events()), []);
  t.same(await chunksOf(reader.answers()), []);
  t.same(await chunksOf(reader.submissions()), []);
});

t.test('exactly chunkSize events end without an empty chunk', async (t) => {
  const { store, redis } = await storeFixture(t, 1);
  await store.writeBatch('E1', 0, [1, 2, 3, 4].map((s) => answer('S1', 1, s, 'Q1', 'v')));
  t.same((await chunksOf(new BucketReader(redis, 'E1', 0, 4).events())).map((c) => c.length), [4]);
  t.same((await chunksOf(new BucketReader(redis, 'E1', 0, 2).events())).map((c) => c.length), [2, 2]);
});

t.test('log entries in another field order read the same; an entry missing a field is refused', async (t) => {
  const { store, redis } = await storeFixture(t, 1);
  await store.claimSession('E1', 'S1');
  await store.writeBatch('E1', 0, [answer('S1', 1, 1, 'Q1', 'written by ux_write')]);
  const key = bucketKeys.log('E1', 0);
  // The same seven fields in another order, as a hand repair or a future writer might add them.
  await redis.xadd(key, '*', 'sts', '1700000000002', 'cts', '', 'seq', '2', 'v', 'by hand', 'k', 'a', 'q', 'Q2', 's', 'S1');
  const rows = (await chunksOf(new BucketReader(redis, 'E1', 0, 10).events())).flat();
  t.equal(rows.length, 2);
  t.match(rows[0], { studentId: 'S1', seq: 1, kind: 'answer', questionId: 'Q1', value: 'written by ux_write' });
  t.same(rows[1], { examId: 'E1', studentId: 'S1', seq: 2, kind: 'answer', questionId: 'Q2', value: 'by hand', clientTs: null, serverTs: 1700000000002 });
  await redis.xadd(key, '*', 's', 'S1', 'k', 'a', 'seq', '3');
  await t.rejects(chunksOf(new BucketReader(redis, 'E1', 0, 10).events()), { code: 'UX_ERR_REDIS_SCRIPT', message: /malformed log entry/ });
});

t.test('a log entry holding a NUL is refused, never read shifted', async (t) => {
  const { redis } = await storeFixture(t, 1);
  // ux_write refuses U+0000; only a hand-written entry can hold one.
  await redis.xadd(bucketKeys.log('E1', 0), '*', 's', 'S1', 'q', 'Q1', 'k', 'a', 'v', 'before\0after', 'seq', '1', 'cts', '', 'sts', '1700000000000');
  await t.rejects(chunksOf(new BucketReader(redis, 'E1', 0, 10).events()), { code: 'UX_ERR_REDIS_SCRIPT', message: /malformed log range/ });
});

t.test('a Redis that forgot the read script (restart, failover) is sent it again', async (t) => {
  const { store, redis } = await storeFixture(t, 1);
  await store.writeBatch('E1', 0, [1, 2, 3].map((s) => answer('S1', 1, s, 'Q1', `v${s}`)));
  t.equal((await chunksOf(new BucketReader(redis, 'E1', 0, 10).events())).flat().length, 3);
  await redis.script('FLUSH');
  const rows = (await chunksOf(new BucketReader(redis, 'E1', 0, 10).events())).flat();
  t.same(
    rows.map((r) => r.value),
    ['v1', 'v2', 'v3'],
  );
});

t.test('chunks larger than one read call are filled from several calls, in order', async (t) => {
  const { store, redis } = await storeFixture(t, 1);
  const events = Array.from({ length: 2_600 }, (_, i) => answer('S1', 1, i + 1, `Q${i % 40}`, `v${i}`));
  for (let at = 0; at < events.length; at += 500) await store.writeBatch('E1', 0, events.slice(at, at + 500));
  const chunks = await chunksOf(new BucketReader(redis, 'E1', 0, 2_500).events());
  t.same(
    chunks.map((c) => c.length),
    [2_500, 100],
  );
  t.ok(
    chunks.flat().every((r, i) => r.seq === i + 1),
    'every event once, in stored order',
  );
});
