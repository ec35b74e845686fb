// ux_write's decision per event, and its precedence: StaleSession, then Duplicate, then
// ExamClosed, then Submitted, else Stored.
import t from 'tap';
import { WriteOutcome } from '../../../src/events/answer-event.js';
import { bucketKeys } from '../../../src/redis/bucket-keys.js';
import { answer, ev, storeFixture } from './store-fixture.js';

const { Stored, Duplicate, ExamClosed, Submitted, StaleSession } = WriteOutcome;

t.test('new events are stored; the same seqs again are duplicates, not stored twice', async (t) => {
  const { store, redis, bucket } = await storeFixture(t);
  const b = bucket('E1', 'S1');
  const { epoch } = await store.claimSession('E1', 'S1');
  const batch = [ev('S1', epoch, 1, 'open'), answer('S1', epoch, 2, 'Q1', 'A')];
  t.same(await store.writeBatch('E1', b, batch), [Stored, Stored]);
  t.same(await store.writeBatch('E1', b, batch), [Duplicate, Duplicate]);
  t.equal(await redis.xlen(bucketKeys.log('E1', b)), 2);
  t.same(await store.examCounts('E1'), { students: 1, events: 2, closedBuckets: 0, submitted: 0, connected: 0 });
  t.equal((await store.claimSession('E1', 'S1')).lastSeq, 2);
});

t.test('a seq at or below lastSeq is a duplicate even if it was never stored (gaps are allowed)', async (t) => {
  const { store, bucket } = await storeFixture(t);
  const b = bucket('E1', 'S1');
  const { epoch } = await store.claimSession('E1', 'S1');
  t.same(await store.writeBatch('E1', b, [answer('S1', epoch, 10, 'Q1', 'x'), answer('S1', epoch, 5, 'Q1', 'y')]), [
    Stored,
    Duplicate,
  ]);
  t.same(await store.writeBatch('E1', b, [answer('S1', epoch, 11, 'Q1', 'z')]), [Stored]);
});

t.test('events stay in seq order in the log', async (t) => {
  const { store, redis, bucket } = await storeFixture(t);
  const b = bucket('E1', 'S1');
  const { epoch } = await store.claimSession('E1', 'S1');
  const seqs = [1, 2, 3, 7, 8, 20];
  await store.writeBatch('E1', b, seqs.slice(0, 3).map((s) => answer('S1', epoch, s, 'Q1', `v${s}`)));
  await store.writeBatch('E1', b, seqs.slice(3).map((s) => answer('S1', epoch, s, 'Q1', `v${s}`)));
  const entries = await redis.xrange(bucketKeys.log('E1', b), '-', '+');
  t.same(
    entries.map(([, f]) => Number(f[f.indexOf('seq') + 1])),
    seqs,
  );
});

t.test('a replaced session cannot store new events, nor have its resends acked as duplicates', async (t) => {
  const { store, bucket } = await storeFixture(t);
  const b = bucket('E1', 'S1');
  const first = await store.claimSession('E1', 'S1');
  t.same(await store.writeBatch('E1', b, [answer('S1', first.epoch, 1, 'Q1', 'a')]), [Stored]);
  const second = await store.claimSession('E1', 'S1');
  t.equal(second.epoch, first.epoch + 1);
  t.same(
    await store.writeBatch('E1', b, [
      // Stale wins over duplicate: were it acked, the superseded client would drop an event
      // whose seq the newer session may have used for another one (rule 3).
      answer('S1', first.epoch, 1, 'Q1', 'a'),
      answer('S1', first.epoch, 2, 'Q1', 'b'),
      answer('S1', second.epoch, 2, 'Q1', 'c'),
      answer('S1', first.epoch, 3, 'Q1', 'd'),
      answer('S1', second.epoch, 1, 'Q1', 'a'), // the live session's resend is still a duplicate
    ]),
    [StaleSession, StaleSession, Stored, StaleSession, Duplicate],
  );
});

t.test('after a stored submit every new event is refused with Submitted; resends stay duplicates', async (t) => {
  const { store, bucket } = await storeFixture(t);
  const b = bucket('E1', 'S1');
  const { epoch } = await store.claimSession('E1', 'S1');
  t.same(
    await store.writeBatch('E1', b, [
      answer('S1', epoch, 1, 'Q1', 'a'),
      ev('S1', epoch, 2, 'submit'),
      answer('S1', epoch, 3, 'Q1', 'b'),
      ev('S1', epoch, 4, 'open'),
      ev('S1', epoch, 5, 'submit'),
    ]),
    [Stored, Stored, Submitted, Submitted, Submitted],
  );
  t.same(await store.writeBatch('E1', b, [ev('S1', epoch, 2, 'submit'), answer('S1', epoch, 6, 'Q1', 'c')]), [
    Duplicate,
    Submitted,
  ]);
  const claim = await store.claimSession('E1', 'S1');
  t.same({ lastSeq: claim.lastSeq, submitted: claim.submitted }, { lastSeq: 2, submitted: true });
});

t.test('a closed exam refuses new events; precedence StaleSession > Duplicate > ExamClosed > Submitted', async (t) => {
  const { store, bucket } = await storeFixture(t, 1);
  const b = bucket('E1', 'S1');
  t.equal(b, bucket('E1', 'S2'));
  const s1 = await store.claimSession('E1', 'S1');
  const s2old = await store.claimSession('E1', 'S2');
  t.same(
    await store.writeBatch('E1', b, [answer('S1', s1.epoch, 1, 'Q1', 'a'), ev('S1', s1.epoch, 2, 'submit'), answer('S2', s2old.epoch, 1, 'Q1', 'a')]),
    [Stored, Stored, Stored],
  );
  const s2 = await store.claimSession('E1', 'S2');
  await store.closeExam('E1');
  t.same(
    await store.writeBatch('E1', b, [
      ev('S1', s1.epoch, 2, 'submit'), // resent submit: Duplicate, even closed and submitted
      answer('S1', s1.epoch, 3, 'Q1', 'b'), // submitted and closed: ExamClosed wins
      answer('S2', s2old.epoch, 1, 'Q1', 'a'), // resent through the old session: StaleSession wins
      answer('S2', s2old.epoch, 2, 'Q1', 'b'), // old session and closed: StaleSession wins
      answer('S2', s2.epoch, 2, 'Q1', 'b'), // live session, closed: ExamClosed
      ev('S3', 1, 1, 'open'), // a student who never wrote: ExamClosed
    ]),
    [Duplicate, ExamClosed, StaleSession, StaleSession, ExamClosed, ExamClosed],
  );
  const claim = await store.claimSession('E1', 'S3');
  t.equal(claim.closed, true);
  t.same(await store.examCounts('E1'), { students: 2, events: 3, closedBuckets: 1, submitted: 1, connected: 0 });
});

t.test('counts: students with a stored event, stored events, per exam across buckets', async (t) => {
  const { store, bucket } = await storeFixture(t, 8);
  t.same(await store.examCounts('E9'), { students: 0, events: 0, closedBuckets: 0, submitted: 0, connected: 0 }, 'an unknown exam reads as empty');
  await store.claimSession('E9', 'NOEVENTS'); // a hello alone does not make a student count
  for (let s = 0; s < 20; s++) {
    const student = `S${s}`;
    const { epoch } = await store.claimSession('E9', student);
    const events = [ev(student, epoch, 1, 'open'), answer(student, epoch, 2, 'Q1', 'x')];
    await store.writeBatch('E9', bucket('E9', student), events);
    await store.writeBatch('E9', bucket('E9', student), events); // duplicates do not count
  }
  t.same(await store.examCounts('E9'), { students: 20, events: 40, closedBuckets: 0, submitted: 0, connected: 0 });
  t.same(await store.examCounts('OTHER'), { students: 0, events: 0, closedBuckets: 0, submitted: 0, connected: 0 });
});

t.test('an event whose epoch is above the stored one is stored and raises it (Redis lost the hello)', async (t) => {
  const { store, bucket } = await storeFixture(t);
  t.same(await store.writeBatch('E1', bucket('E1', 'S1'), [answer('S1', 5, 1, 'Q1', 'a')]), [Stored]);
  t.equal((await store.claimSession('E1', 'S1')).epoch, 6);
});

t.test('an empty batch needs no call', async (t) => {
  const { store } = await storeFixture(t);
  t.same(await store.writeBatch('E1', 0, []), []);
});

t.test('a hello older than the live session\'s is refused and claims nothing (rule 7)', async (t) => {
  const { store, redis, bucket } = await storeFixture(t);
  const b = bucket('E1', 'S1');
  const live = await store.claimSession('E1', 'S1', 2_000_000);
  t.match(live, { stale: false, epoch: 1 });
  t.same(await store.writeBatch('E1', b, [answer('S1', live.epoch, 1, 'Q1', 'a')]), [Stored]);
  const slow = await store.claimSession('E1', 'S1', 1_999_999);
  t.match(slow, { stale: true, epoch: 0, lastSeq: 1 }, 'the slower claim of an earlier hello loses');
  t.same(await store.liveEpochs([{ exam: 'E1', student: 'S1' }]), [1], 'the live session keeps its epoch');
  t.same(await store.writeBatch('E1', b, [answer('S1', live.epoch, 2, 'Q1', 'b')]), [Stored], 'and keeps storing');
  const tie = await store.claimSession('E1', 'S1', 2_000_000);
  t.match(tie, { stale: false, epoch: 2 }, 'a hello received at the same µs is not older: the later claim wins');
  const newer = await store.claimSession('E1', 'S1', 3_000_000);
  t.match(newer, { stale: false, epoch: 3, lastSeq: 2 });
  const packed = await redis.hget(bucketKeys.seq('E1', b), 'S1');
  t.equal(packed?.split(',').length, 7, 'the state holds the hello time, the event count and the last event time');
});

t.test('an error in the middle of a call leaves nothing of it written', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, 1);
  const b = bucket('E1', 'S1');
  const { epoch } = await store.claimSession('E1', 'S1');
  // S2's state is corrupt: the call must fail before S1's events (earlier in the batch) are written.
  await redis.hset(bucketKeys.seq('E1', b), 'S2', 'not a state');
  await t.rejects(store.writeBatch('E1', b, [answer('S1', epoch, 1, 'Q1', 'a'), answer('S2', 1, 1, 'Q1', 'b')]), { code: 'UX_ERR_REDIS_SCRIPT' });
  t.equal(await redis.xlen(bucketKeys.log('E1', b)), 0, 'no log entry');
  t.equal(await redis.exists(bucketKeys.ans('E1', b)), 0, 'no answer');
  t.same(await store.liveEpochs([{ exam: 'E1', student: 'S1' }]), [epoch]);
  t.equal((await store.claimSession('E1', 'S1')).lastSeq, 0, 'S1 has nothing stored');
  // The answers key of another type: refused before the open (which would go first) is written.
  await redis.hdel(bucketKeys.seq('E1', b), 'S2');
  await redis.set(bucketKeys.ans('E1', b), 'not a hash');
  await t.rejects(store.writeBatch('E1', b, [ev('S1', 2, 1, 'open'), answer('S1', 2, 2, 'Q1', 'a')]), { code: 'UX_ERR_REDIS_SCRIPT' });
  t.equal(await redis.xlen(bucketKeys.log('E1', b)), 0, 'still no log entry');
});
