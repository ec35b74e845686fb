// A poison event (issue 10 item 7). One student's stored state in Redis is corrupt, so
// ux_write raises on any batch that holds that student's next event. With one writer for every
// student, that used to stall the whole exam: the batch was retried forever. Now the writer isolates
// the event and answers it `nack bad_event`; the other students keep getting acks, and once the
// state is repaired the student's later seqs are stored as usual (docs/PROTOCOL.md section 3 rules 1-2).

import t from 'tap';
import { bucketKeys, bucketOf } from '../../src/redis/bucket-keys.js';
import { helloRaw } from '../helpers/raw-student.js';
import { storedEventsByStudent } from '../helpers/stored-events.js';
import { pollSettled } from '../helpers/poll.js';
import { startUntradexInProcess } from '../helpers/untradex.js';
import { StudentLoad } from './support/student-load.js';
import { assertRedisHoldsLoad, recordFault } from './support/tally.js';

const BUCKETS = 16;
const EXAM = 'POISON-E2E';
const VICTIM = 'VICTIM';

interface StatusBody {
  events: { badEvents: number };
  acks: { nacks: number };
  actors: Array<{ id: string; restarts: number }>;
}

t.test('a poison event is nacked bad_event while every other student on the writer keeps getting acks', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: BUCKETS }, gateway: { connectionActors: 2 }, writers: { count: 1 } });
  const redis = ux.redis();
  const tokens = await ux.tokens(EXAM, [VICTIM]);
  const { student: victim, welcome } = await helloRaw(ux.gatewayUrl, tokens[VICTIM]!);
  t.match(welcome, { t: 'welcome', lastSeq: 0 });
  victim.send({ t: 'ev', seq: 1, k: 'open' });
  victim.send({ t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: 'before' });
  await victim.next((frame) => frame.t === 'ack' && (frame.seq as number) >= 2);

  const load = await StudentLoad.start(t, ux, { exam: EXAM, students: 12, answersEach: 60, pauseMs: 15 });
  await load.ackedAtLeast(100);

  // The victim's state no longer parses: ux_write raises UXCORRUPT on any call holding its events.
  const seqKey = bucketKeys.seq(EXAM, bucketOf(EXAM, VICTIM, BUCKETS));
  const state = await redis.hget(seqKey, VICTIM);
  t.ok(state !== null, 'the victim has a stored state');
  await redis.hset(seqKey, VICTIM, 'corrupted by the test');
  victim.send({ t: 'ev', seq: 3, k: 'answer', q: 'Q1', v: 'poison' });
  const nack = await victim.next((frame) => frame.t === 'nack' || (frame.t === 'ack' && (frame.seq as number) >= 3));
  t.same(nack, { t: 'nack', seq: 3, code: 'bad_event' }, 'the poison event is answered nack bad_event');

  const ackedAtNack = load.ackedTotal;
  const more = await pollSettled('100 more acks', () => load.ackedTotal - ackedAtNack, (acked) => acked >= 100, { intervalMs: 5 });
  t.ok(more >= 100, `the other students kept getting acks after it (${more} more so far)`);

  // Repaired, the victim goes on where it was: seq 3 was dropped, the later seqs are stored.
  await redis.hset(seqKey, VICTIM, state!);
  victim.send({ t: 'ev', seq: 4, k: 'answer', q: 'Q1', v: 'after' });
  victim.send({ t: 'ev', seq: 5, k: 'submit' });
  await victim.next((frame) => frame.t === 'ack' && (frame.seq as number) >= 5);

  await load.flushed();
  const tally = await assertRedisHoldsLoad(t, redis, load, BUCKETS, 'Redis');
  t.equal(load.students.reduce((total, student) => total + student.nacks, 0), 0, 'no other student got a nack');
  const stored = await storedEventsByStudent(redis, EXAM, BUCKETS);
  t.same(stored.get(VICTIM)?.map((event) => [event.seq, event.value]), [[1, ''], [2, 'before'], [4, 'after'], [5, '']], 'the victim: every seq but the poison one, in order, once');

  const status = await ux.api<StatusBody>('GET', '/api/status');
  t.equal(status.body.events.badEvents, 1, '/api/status counts the bad event');
  t.ok(status.body.acks.nacks >= 1, 'and the nack');
  t.match(status.body.actors.find((actor) => actor.id === 'writer-0'), { restarts: 0 }, 'the writer never crashed');
  recordFault(
    'poison event',
    "one student's stored state corrupt in Redis, so ux_write raises on its next event; 1 writer, 12 other students",
    tally,
    'the event was isolated and nacked bad_event; the other students were acked throughout',
  );
});
