// The `answers` frame's read (docs/PROTOCOL.md section 3): one student's last stored answer per question,
// read through the bucket's question index, at a cost that does not grow with the bucket.

import type { Redis } from 'ioredis';
import t from 'tap';
import { ExamMetaStore } from '../../../src/export/exam-meta.js';
import { bucketKeys } from '../../../src/redis/bucket-keys.js';
import { readStudentAnswers } from '../../../src/redis/student-answers.js';
import { answer, ev, storeFixture } from './store-fixture.js';

/** How many times each command ran on the server so far (INFO commandstats). */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

t.test('the last answer per question, with its seq; cleared answers included; other students apart', async (t) => {
  const { redis, store, bucket } = await storeFixture(t, 1);
  const b = bucket('RA', 'S1');
  await store.claimSession('RA', 'S1');
  await store.claimSession('RA', 'S10');
  t.same(
    await store.writeBatch('RA', b, [
      ev('S1', 1, 1, 'open'),
      answer('S1', 1, 2, 'Q1', 'A'),
      answer('S1', 1, 3, 'Q2', 'x,y|z'),
      answer('S1', 1, 4, 'Q1', 'B'),
      answer('S10', 2, 1, 'Q1', 'not S1'),
    ]),
    [0, 0, 0, 0, 0],
  );
  await store.writeBatch('RA', b, [answer('S1', 1, 5, 'Q2', ''), answer('S1', 1, 6, 'Q3', 'C')]);
  const got = await readStudentAnswers(redis, 'RA', b, 'S1');
  t.same(Object.fromEntries(got), { Q1: { v: 'B', seq: 4 }, Q2: { v: '', seq: 5 }, Q3: { v: 'C', seq: 6 } });
  t.equal(await redis.hget(bucketKeys.qidx('RA', b), 'S1'), 'Q1,Q2,Q3', 'each question once, in the order first answered');
  t.same(Object.fromEntries(await readStudentAnswers(redis, 'RA', b, 'S10')), { Q1: { v: 'not S1', seq: 1 } }, 'S1| is not a prefix match for S10');
  t.same(Object.fromEntries(await readStudentAnswers(redis, 'RA', b, 'NOBODY')), {}, 'a student with no answer has none');
});

t.test('costs two reads whatever the bucket holds (no scan of the bucket)', async (t) => {
  const { redis, store, bucket } = await storeFixture(t, 1);
  const b = bucket('BIG', 'S0');
  const events = [];
  for (let s = 0; s < 3000; s += 1) events.push(answer(`S${s}`, 1, 1, 'Q1', 'A'), answer(`S${s}`, 1, 2, 'Q2', 'B'));
  await store.writeBatch('BIG', b, events);
  const before = await commandCalls(redis);
  const got = await readStudentAnswers(redis, 'BIG', b, 'S1234');
  const after = await commandCalls(redis);
  t.same(Object.fromEntries(got), { Q1: { v: 'A', seq: 1 }, Q2: { v: 'B', seq: 2 } });
  const ran = [...after].filter(([name, calls]) => calls !== (before.get(name) ?? 0) && name !== 'info').map(([name, calls]) => [name, calls - (before.get(name) ?? 0)]);
  t.same(Object.fromEntries(ran), { hget: 1, hmget: 1 }, 'one HGET of the index and one HMGET of the answers');
});

t.test('purge removes the index with the answers', async (t) => {
  const { redis, store, bucket } = await storeFixture(t, 1);
  const b = bucket('PX', 'S1');
  await store.writeBatch('PX', b, [answer('S1', 1, 1, 'Q1', 'A')]);
  t.ok(new ExamMetaStore(redis).dataKeys('PX', 1).includes(bucketKeys.qidx('PX', b)), 'the index is one of the exam data keys purge and retention remove');
});
