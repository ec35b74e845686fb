// A ux_write call that raises leaves nothing of its batch written, whichever event or stored state
// makes it raise: Redis does not roll back what a function wrote before an error, so every check
// must come before the first write (issue 10 item 7). Otherwise a retried batch finds half of it
// stored and answers those events as duplicates of writes whose call failed.
import t from 'tap';
import type { Redis } from 'ioredis';
import { bucketKeys } from '../../../src/redis/bucket-keys.js';
import type { EventToWrite } from '../../../src/redis/bucket-store.js';
import type { TeardownHost } from '../../helpers/redis-server.js';
import { answer, ev, storeFixture } from './store-fixture.js';

const EXAM = 'E1';
const BUCKETS = 1;
const B = 0;

/** Everything the bucket holds, so a test can say "unchanged" of all of it at once. */
async function snapshot(redis: Redis): Promise<Record<string, unknown>> {
  const keys = [bucketKeys.log(EXAM, B), bucketKeys.ans(EXAM, B), bucketKeys.seq(EXAM, B), bucketKeys.closed(EXAM, B), bucketKeys.qidx(EXAM, B)];
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'stream') out[key] = await redis.xrange(key, '-', '+');
    else if (type === 'hash') out[key] = await redis.hgetall(key);
    else if (type === 'string') out[key] = await redis.get(key);
    else out[key] = type;
  }
  return out;
}

/** Three students with stored state; the batch writes for each of them before and after student k's event. */
async function seeded(t: TeardownHost) {
  const fixture = await storeFixture(t, BUCKETS);
  const { store } = fixture;
  const epochs: Record<string, number> = {};
  for (const student of ['S1', 'S2', 'S3']) {
    epochs[student] = (await store.claimSession(EXAM, student)).epoch;
    await store.writeBatch(EXAM, B, [ev(student, epochs[student]!, 1, 'open')]);
  }
  const batch: EventToWrite[] = [
    answer('S1', epochs.S1!, 2, 'Q1', 'first'),
    answer('S2', epochs.S2!, 2, 'Q1', 'second'),
    answer('S3', epochs.S3!, 2, 'Q1', 'third'),
    answer('S1', epochs.S1!, 3, 'Q2', 'fourth'),
    ev('S1', epochs.S1!, 4, 'submit'),
  ];
  return { ...fixture, batch };
}

t.test("a student's corrupt stored state fails the batch before any event is written", async (t) => {
  const { store, redis, batch } = await seeded(t);
  await redis.hset(bucketKeys.seq(EXAM, B), 'S3', 'not a state');
  const before = await snapshot(redis);
  await t.rejects(store.writeBatch(EXAM, B, batch), { code: 'UX_ERR_REDIS_SCRIPT' });
  t.same(await snapshot(redis), before, 'nothing of the batch was written');
});

t.test('a corrupt event counter of the bucket fails the batch before any event is written', async (t) => {
  const { store, redis, batch } = await seeded(t);
  await redis.hset(bucketKeys.seq(EXAM, B), '!events', 'many');
  const before = await snapshot(redis);
  await t.rejects(store.writeBatch(EXAM, B, batch), { code: 'UX_ERR_REDIS_SCRIPT' });
  t.same(await snapshot(redis), before, 'no event, answer or student state was written');
});

t.test('a corrupt student counter of the bucket fails the batch before any event is written', async (t) => {
  const { store, redis, batch } = await seeded(t);
  await redis.hset(bucketKeys.seq(EXAM, B), '!students', '3.5');
  // A new student makes the function bump !students, which HINCRBY refuses for a non-integer.
  const withNewcomer = [...batch, answer('S4', 1, 1, 'Q1', 'newcomer')];
  const before = await snapshot(redis);
  await t.rejects(store.writeBatch(EXAM, B, withNewcomer), { code: 'UX_ERR_REDIS_SCRIPT' });
  t.same(await snapshot(redis), before, 'no event, answer or student state was written');
});

t.test('a log key of the wrong type fails the batch before any event is written', async (t) => {
  const { store, redis, batch } = await seeded(t);
  await redis.del(bucketKeys.log(EXAM, B));
  await redis.set(bucketKeys.log(EXAM, B), 'not a stream');
  const before = await snapshot(redis);
  await t.rejects(store.writeBatch(EXAM, B, batch), { code: 'UX_ERR_REDIS_SCRIPT' });
  t.same(await snapshot(redis), before, 'no answer or student state was written');
});

t.test('a question index of the wrong type fails the batch before any event is written', async (t) => {
  const { store, redis, batch } = await seeded(t);
  await redis.set(bucketKeys.qidx(EXAM, B), 'not a hash');
  const before = await snapshot(redis);
  await t.rejects(store.writeBatch(EXAM, B, batch), { code: 'UX_ERR_REDIS_SCRIPT' });
  t.same(await snapshot(redis), before, 'no event, answer or student state was written');
});

t.test('a corrupt submitted counter of the bucket fails the batch before any event is written', async (t) => {
  const { store, redis, batch } = await seeded(t);
  await redis.hset(bucketKeys.seq(EXAM, B), '!submitted', 'some');
  const before = await snapshot(redis);
  await t.rejects(store.writeBatch(EXAM, B, batch), { code: 'UX_ERR_REDIS_SCRIPT' });
  t.same(await snapshot(redis), before, 'the batch holds a submit: nothing of it was written');
});

t.test('a roster of the wrong type fails a batch with a new student before any event is written', async (t) => {
  const { store, redis, batch } = await seeded(t);
  await redis.del(bucketKeys.roster(EXAM, B));
  await redis.set(bucketKeys.roster(EXAM, B), 'not a zset');
  const withNewcomer = [...batch, answer('S4', 1, 1, 'Q1', 'newcomer')];
  const before = await snapshot(redis);
  await t.rejects(store.writeBatch(EXAM, B, withNewcomer), { code: 'UX_ERR_REDIS_SCRIPT' });
  t.same(await snapshot(redis), before, 'no event, answer or student state was written');
  await t.rejects(store.claimSession(EXAM, 'S5'), { code: 'UX_ERR_REDIS_SCRIPT' }, 'a hello is refused too');
  t.equal(await redis.hexists(bucketKeys.seq(EXAM, B), 'S5'), 0, 'and claims nothing');
});

t.test('a malformed k-th event fails the batch before any event is written', async (t) => {
  const { store, redis, batch } = await seeded(t);
  for (let k = 0; k < batch.length; k += 1) {
    const poisoned = batch.map((event, index) => (index === k ? { ...event, question: 'Q 1', kind: 'answer' as const, value: 'x' } : event));
    const before = await snapshot(redis);
    await t.rejects(store.writeBatch(EXAM, B, poisoned), { code: 'UX_ERR_REDIS_SCRIPT' }, `event ${k + 1} malformed`);
    t.same(await snapshot(redis), before, `event ${k + 1} malformed: nothing written`);
  }
});

t.test('once the bad state is repaired the same batch is stored whole', async (t) => {
  const { store, redis, batch } = await seeded(t);
  await redis.hset(bucketKeys.seq(EXAM, B), '!events', 'many');
  await t.rejects(store.writeBatch(EXAM, B, batch));
  await redis.hset(bucketKeys.seq(EXAM, B), '!events', '3');
  t.same(await store.writeBatch(EXAM, B, batch), [0, 0, 0, 0, 0], 'every event stored, none taken for a duplicate');
  t.equal(await redis.xlen(bucketKeys.log(EXAM, B)), 3 + batch.length);
});
