// ux_write_many (library version 7): several buckets' events in one call, as a writer sends a
// batch that holds a few events in each of many buckets. Its outcomes and what it stores must be
// ux_write's, bucket by bucket, and a call that raises must leave nothing of any bucket written.
import t from 'tap';
import type { Redis } from 'ioredis';
import { isPoisonCandidate } from '../../../actors/redis-writer/poison-isolation.js';
import { WriteOutcome } from '../../../src/events/answer-event.js';
import { bucketKeys } from '../../../src/redis/bucket-keys.js';
import type { BucketStore, BucketWrite, EventToWrite } from '../../../src/redis/bucket-store.js';
import { answer, ev, storeFixture } from './store-fixture.js';

const { Stored, Duplicate, ExamClosed, Submitted, StaleSession } = WriteOutcome;
const BUCKETS = 8;
const EXAMS = ['E1', 'E2'];
const STUDENTS = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10', 'S11', 'S12'];

/** Every key of every bucket of both exams, stream entries without their time-made ids. */
async function snapshot(redis: Redis): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const exam of EXAMS) {
    for (let b = 0; b < BUCKETS; b++) {
      for (const key of [bucketKeys.log(exam, b), bucketKeys.ans(exam, b), bucketKeys.seq(exam, b), bucketKeys.closed(exam, b), bucketKeys.qidx(exam, b), bucketKeys.roster(exam, b)]) {
        const type = await redis.type(key);
        if (type === 'stream') out[key] = (await redis.xrange(key, '-', '+')).map(([, fields]) => fields);
        else if (type === 'hash') out[key] = await redis.hgetall(key);
        else if (type === 'zset') out[key] = await redis.zrange(key, '0', '-1');
        else if (type === 'string') out[key] = await redis.get(key);
        else if (type !== 'none') out[key] = type;
      }
    }
  }
  return out;
}

/**
 * The same history on a store: claims (two for S2, so its first session is stale), a stored
 * past, a submit, a closed bucket of E2; then a batch over many buckets with every outcome.
 */
async function scenario(store: BucketStore, bucket: (exam: string, student: string) => number): Promise<BucketWrite[]> {
  const epochs = new Map<string, number>();
  for (const exam of EXAMS) for (const student of STUDENTS) epochs.set(`${exam}/${student}`, (await store.claimSession(exam, student, 1_000_000 + epochs.size)).epoch);
  const stale = epochs.get('E1/S2')!;
  epochs.set('E1/S2', (await store.claimSession('E1', 'S2', 2_000_000)).epoch);
  await store.writeBatch('E1', bucket('E1', 'S3'), [ev('S3', epochs.get('E1/S3')!, 1, 'open'), answer('S3', epochs.get('E1/S3')!, 2, 'Q1', 'first')]);
  await store.writeBatch('E1', bucket('E1', 'S4'), [ev('S4', epochs.get('E1/S4')!, 1, 'submit')]);
  await store.closeBuckets('E2', [bucket('E2', 'S5')]);

  const events = new Map<string, BucketWrite & { events: EventToWrite[] }>();
  const add = (exam: string, event: EventToWrite) => {
    const b = bucket(exam, event.student);
    const key = `${exam}\u0000${b}`;
    const group = events.get(key);
    if (group === undefined) events.set(key, { exam, bucket: b, events: [event] });
    else group.events.push(event);
  };
  for (const exam of EXAMS) {
    for (const student of STUDENTS) {
      const epoch = epochs.get(`${exam}/${student}`)!;
      add(exam, answer(student, epoch, 3, 'Q1', `${exam} ${student}, with a comma`));
      add(exam, answer(student, epoch, 4, 'Q2', 'ünïcode ✓'));
    }
  }
  add('E1', answer('S2', stale, 5, 'Q3', 'from the replaced session'));
  add('E1', answer('S3', epochs.get('E1/S3')!, 2, 'Q1', 'a resend'));
  return [...events.values()];
}

t.test('one call over many buckets stores and answers exactly what one call per bucket does', async (t) => {
  const together = await storeFixture(t, BUCKETS);
  const apart = await storeFixture(t, BUCKETS);
  const groups = await scenario(together.store, together.bucket);
  const sameGroups = await scenario(apart.store, apart.bucket);
  t.ok(groups.length >= 6, `the batch spans ${groups.length} buckets`);
  t.ok(together.store.writesBucketsTogether, 'a single Redis takes several buckets in one call');

  const calls = async (redis: Redis) => Number(/cmdstat_fcall:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
  const callsBefore = await calls(together.redis);
  const outcomes = await together.store.writeBuckets(groups);
  t.equal((await calls(together.redis)) - callsBefore, 1, 'one FCALL for the whole batch')
  const expected: WriteOutcome[][] = [];
  for (const group of sameGroups) expected.push(await apart.store.writeBatch(group.exam, group.bucket, group.events));
  t.same(outcomes, expected, 'the same outcome for every event, bucket by bucket');
  const all = outcomes.flat();
  for (const outcome of [Stored, Duplicate, ExamClosed, Submitted, StaleSession]) t.ok(all.includes(outcome), `the batch has outcome ${outcome}`);
  t.same(await snapshot(together.redis), await snapshot(apart.redis), 'the same logs, answers, states, counters and rosters');
  t.same(await together.store.examCounts('E1'), await apart.store.examCounts('E1'));

  const again = outcomes.map((list) => list.map((outcome) => (outcome === Stored ? Duplicate : outcome)));
  t.same(await together.store.writeBuckets(groups), again, 'the same batch again: what was stored comes back Duplicate, the rest as before');
  t.same(await snapshot(together.redis), await snapshot(apart.redis), 'and nothing more is stored');
});

t.test('a call that raises in its last bucket leaves nothing of any bucket written, and the writer may isolate it', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, BUCKETS);
  const groups = await scenario(store, bucket);
  const last = groups[groups.length - 1]!;
  const poisoned: BucketWrite[] = [...groups.slice(0, -1), { ...last, events: [...last.events.slice(0, -1), { ...last.events[last.events.length - 1]!, question: 'not an id' }] }];
  const before = await snapshot(redis);
  const error = await store.writeBuckets(poisoned).then(() => null, (caught: unknown) => caught);
  t.match(error, { code: 'UX_ERR_REDIS_SCRIPT', message: /ux_write_many/ });
  t.ok(isPoisonCandidate(error), 'raised inside the function: the writer writes each bucket alone to find the event');
  t.same(await snapshot(redis), before, 'no bucket of the call was written, the first ones included');

  // A corrupt stored value in the first bucket: the same, found by the checks before any write.
  await redis.hset(bucketKeys.seq(groups[0]!.exam, groups[0]!.bucket), '!events', 'many');
  const corrupt = await snapshot(redis);
  t.match(await store.writeBuckets(groups).then(() => null, (caught: unknown) => caught), { code: 'UX_ERR_REDIS_SCRIPT', message: /UXCORRUPT/ });
  t.same(await snapshot(redis), corrupt, 'nothing written');
});

t.test('malformed calls are refused whole', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, BUCKETS);
  const groups = await scenario(store, bucket);
  const before = await snapshot(redis);
  const twice = [groups[0]!, groups[1]!, { ...groups[0]!, events: groups[0]!.events.map((event) => ({ ...event, seq: event.seq + 100 })) }];
  t.match(await store.writeBuckets(twice).then(() => null, (caught: unknown) => caught), { message: /twice/ }, 'a bucket given twice would be planned twice on one state');

  const keysOf = (group: BucketWrite) => [
    bucketKeys.log(group.exam, group.bucket), bucketKeys.ans(group.exam, group.bucket), bucketKeys.seq(group.exam, group.bucket),
    bucketKeys.closed(group.exam, group.bucket), bucketKeys.qidx(group.exam, group.bucket), bucketKeys.roster(group.exam, group.bucket),
  ];
  const argsOf = (group: BucketWrite) => [group.exam, String(group.events.length), ...group.events.flatMap((e) => [e.student, String(e.epoch), String(e.seq), 'a', e.question ?? '', e.value ?? '', '', String(e.serverTs)])];
  const [a, b] = [groups[0]!, groups[1]!];
  const cases: Array<[string, string[], string[], RegExp]> = [
    ['a missing key', [...keysOf(a), ...keysOf(b).slice(0, 5)], ['2', ...argsOf(a), ...argsOf(b)], /6 keys per bucket/],
    ['a bucket count beyond the keys', [...keysOf(a), ...keysOf(b)], ['3', ...argsOf(a), ...argsOf(b)], /6 keys per bucket/],
    ['a bucket count of zero', [], ['0'], /bucket count/],
    ['an argument too many', [...keysOf(a), ...keysOf(b)], ['2', ...argsOf(a), ...argsOf(b), 'extra'], /argument count/],
    ['an argument too few', [...keysOf(a), ...keysOf(b)], ['2', ...argsOf(a), ...argsOf(b).slice(0, -1)], /argument count/],
  ];
  for (const [what, keys, args, message] of cases) {
    const error = await redis.fcall('ux_write_many', keys.length, ...keys, ...args).then(() => null, (caught: unknown) => caught);
    t.match(error, { message }, what);
  }
  t.same(await snapshot(redis), before, 'none of them wrote anything');
});
