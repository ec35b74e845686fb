// isolatePoison against a real Redis: one bucket's events whose ux_write raises are written again in
// halves until the event that raises alone is found; it alone is BadEvent and never stored, every
// other event gets its real outcome, in seq order. Errors that are not an event's fault never nack.
import t from 'tap';
import { isolatePoison, isPoisonCandidate } from '../../../actors/redis-writer/poison-isolation.js';
import { RedisScriptError, RedisUnavailableError } from '../../../src/errors.js';
import { WriteOutcome } from '../../../src/events/answer-event.js';
import { bucketKeys } from '../../../src/redis/bucket-keys.js';
import type { BucketStore, EventToWrite } from '../../../src/redis/bucket-store.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { answer, ev, storeFixture } from '../redis/store-fixture.js';

const { Stored, Duplicate, BadEvent } = WriteOutcome;
const EXAM = 'E1';
const B = 0;

/** 4 students, 6 events each, interleaved as a batch takes them from the rings. */
function traffic(): EventToWrite[] {
  const events: EventToWrite[] = [];
  for (let seq = 1; seq <= 6; seq += 1) {
    for (const student of ['S1', 'S2', 'S3', 'S4']) events.push(seq === 1 ? ev(student, 1, seq, 'open') : answer(student, 1, seq, `Q${seq}`, `${student}-${seq}`));
  }
  return events;
}

/** An event the gateway would never forward but a ring could carry: ux_write raises UXBAD on it. */
function poisoned(event: EventToWrite): EventToWrite {
  return { ...event, kind: 'answer', question: 'not an id', value: 'x' };
}

/** A write that remembers each call's size, and which event each single-event call carried. */
function counting(store: BucketStore) {
  const sizes: number[] = [];
  const alone: string[] = [];
  const write = (events: readonly EventToWrite[]) => {
    sizes.push(events.length);
    if (events.length === 1) alone.push(`${events[0]!.student}/${events[0]!.seq}`);
    return store.writeBatch(EXAM, B, events);
  };
  return { write, sizes, alone };
}

t.test('one poison event is isolated; the rest of the bucket, its own student included, is stored in order', async (t) => {
  const { store, redis } = await storeFixture(t, 1);
  const events = traffic();
  const k = events.findIndex((event) => event.student === 'S2' && event.seq === 3);
  events[k] = poisoned(events[k]!);
  await t.rejects(store.writeBatch(EXAM, B, events), { code: 'UX_ERR_REDIS_SCRIPT' }, 'the batch as a whole raises');
  t.ok(isPoisonCandidate(await store.writeBatch(EXAM, B, events).catch((error: unknown) => error)), 'its error may be an event\'s fault');

  const { write, sizes, alone } = counting(store);
  const isolation = await isolatePoison(events, write);
  t.same(isolation.outcomes, events.map((_, index) => (index === k ? BadEvent : Stored)), 'BadEvent for the poison event only');
  t.same(isolation.isolated.map(({ index, event }) => [index, event.student, event.seq]), [[k, 'S2', 3]]);
  t.match(isolation.isolated[0]!.error, { code: 'UX_ERR_REDIS_SCRIPT', message: /UXBAD/ });
  t.equal(isolation.calls, sizes.length);
  t.ok(sizes.length <= 2 * Math.ceil(Math.log2(events.length)) + 2, `${sizes.length} calls for ${events.length} events (${sizes.join(', ')})`);
  t.equal(alone.filter((key) => key === 'S2/3').length, 2, `the poison event was written alone twice before it was named (${alone.join(', ')})`);

  const stored = await storedEventsByStudent(redis, EXAM, 1);
  t.same(stored.get('S2')?.map((event) => event.seq), [1, 2, 4, 5, 6], 'S2: every seq but the poison one, in order, once');
  for (const student of ['S1', 'S3', 'S4']) t.same(stored.get(student)?.map((event) => event.seq), [1, 2, 3, 4, 5, 6], `${student}: all, in order, once`);
  t.equal(await redis.hexists(bucketKeys.ans(EXAM, B), 'S2|not an id'), 0, 'nothing of the poison event reached the answers');
  t.same(await store.examCounts(EXAM), { students: 4, events: 23, closedBuckets: 0, submitted: 0, connected: 0 }, 'the counters count what was stored');
});

t.test('two poison events are both isolated; events resent from an earlier attempt are duplicates', async (t) => {
  const { store, redis } = await storeFixture(t, 1);
  const events = traffic();
  await store.writeBatch(EXAM, B, events.slice(0, 4));
  const first = events.findIndex((event) => event.student === 'S1' && event.seq === 2);
  const last = events.length - 1;
  events[first] = poisoned(events[first]!);
  events[last] = poisoned(events[last]!);
  const isolation = await isolatePoison(events, (part) => store.writeBatch(EXAM, B, part));
  const expected = events.map((_, index) => (index < 4 ? Duplicate : index === first || index === last ? BadEvent : Stored));
  t.same(isolation.outcomes, expected);
  t.same(isolation.isolated.map(({ index }) => index), [first, last]);
  const stored = await storedEventsByStudent(redis, EXAM, 1);
  t.same(stored.get('S1')?.map((event) => event.seq), [1, 3, 4, 5, 6]);
  t.same(stored.get('S4')?.map((event) => event.seq), [1, 2, 3, 4, 5]);
});

t.test('a student whose stored state is corrupt: each of its events is isolated, the others are stored', async (t) => {
  const { store, redis } = await storeFixture(t, 1);
  const events = traffic();
  await redis.hset(bucketKeys.seq(EXAM, B), 'S3', 'corrupt');
  const isolation = await isolatePoison(events, (part) => store.writeBatch(EXAM, B, part));
  t.same(isolation.outcomes, events.map((event) => (event.student === 'S3' ? BadEvent : Stored)));
  t.match(isolation.isolated[0]!.error, { message: /UXCORRUPT student state of S3/ });
  t.equal(await redis.hget(bucketKeys.seq(EXAM, B), 'S3'), 'corrupt', 'the corrupt state is left for the operator to see');
});

t.test('a Redis out of memory is not an event\'s fault: isolation stops and nothing is nacked', async (t) => {
  const { store, redis, server } = await storeFixture(t, 1);
  const admin = server.client('admin');
  const events = traffic();
  events[5] = poisoned(events[5]!);
  let calls = 0;
  const write = async (part: readonly EventToWrite[]) => {
    calls += 1;
    // The third call meets a Redis that is out of memory: a ReplyError from FCALL, yet transient.
    if (calls === 3) await admin.config('SET', 'maxmemory', '1');
    return store.writeBatch(EXAM, B, part);
  };
  const error = await isolatePoison(events, write).catch((caught: unknown) => caught);
  await admin.config('SET', 'maxmemory', '0');
  t.match(error, { code: 'UX_ERR_REDIS_SCRIPT', message: /OOM/ }, 'the OOM rejects the isolation for the caller to resend the batch');
  t.notOk(isPoisonCandidate(error));
  t.equal(calls, 3, 'no write was tried after it');
  t.equal(await redis.xlen(bucketKeys.log(EXAM, B)), 0, 'the halves before it raised and wrote nothing');
});

t.test('what counts as possibly an event\'s fault', async (t) => {
  const { store, redis, server } = await storeFixture(t, 1);
  const caught = (promise: Promise<unknown>) => promise.then(() => null, (error: unknown) => error);

  t.ok(isPoisonCandidate(await caught(store.writeBatch(EXAM, B, [poisoned(ev('S1', 1, 1, 'open'))]))), 'UXBAD raised by ux_write');
  await redis.set(bucketKeys.log(EXAM, B), 'not a stream');
  t.ok(isPoisonCandidate(await caught(store.writeBatch(EXAM, B, [ev('S1', 1, 1, 'open')]))), 'UXCORRUPT raised by ux_write');
  await redis.del(bucketKeys.log(EXAM, B));

  const admin = server.client('admin');
  await admin.config('SET', 'maxmemory', '1');
  t.notOk(isPoisonCandidate(await caught(store.writeBatch(EXAM, B, [ev('S1', 1, 1, 'open')]))), 'OOM before the function ran');
  await admin.config('SET', 'maxmemory', '0');

  await admin.function('DELETE', 'untradex');
  t.notOk(isPoisonCandidate(await caught(store.writeBatch(EXAM, B, [ev('S1', 1, 1, 'open')]))), 'ERR Function not found');

  redis.disconnect();
  const closed = await caught(store.writeBatch(EXAM, B, [ev('S1', 1, 1, 'open')]));
  t.match(closed, { code: 'UX_ERR_REDIS_UNAVAILABLE' });
  t.notOk(isPoisonCandidate(closed), 'a closed connection');

  // Replies a test cannot easily make a real Redis give, in the shape ioredis gives them.
  const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });
  const suffix = ' script: ux_write, on @user_function:187.';
  for (const code of ['LOADING', 'BUSY', 'MISCONF', 'OOM', 'NOREPLICAS', 'CLUSTERDOWN', 'TRYAGAIN', 'MOVED', 'ASK', 'READONLY', 'MASTERDOWN']) {
    t.notOk(isPoisonCandidate(new RedisScriptError('FCALL ux_write failed', { cause: reply(`${code} something${suffix}`) })), `${code}, even raised inside ux_write`);
  }
  t.ok(isPoisonCandidate(new RedisScriptError('FCALL ux_write failed', { cause: reply(`WRONGTYPE Operation against a key${suffix}`) })), 'WRONGTYPE inside ux_write');
  t.notOk(isPoisonCandidate(new RedisUnavailableError('FCALL failed', { cause: reply(`UXBAD event 1 seq: "0"${suffix}`) })), 'the project\'s own transient errors');
  t.notOk(isPoisonCandidate(new RedisScriptError('ux_write returned "x" for 1 events')), 'a malformed reply');
  t.notOk(isPoisonCandidate(new Error('UXBAD')), 'anything else');
});
