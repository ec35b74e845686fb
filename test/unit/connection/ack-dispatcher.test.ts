// The ack dispatcher on real ack rings and real sockets: the writers' answers of one round become
// one cumulative ack per student, nacks by code, `replaced` and `busy` through the hooks; answers
// for another incarnation or a reused slot are dropped; the doorbell, not the idle timeout, wakes it.

import t, { type Test } from 'tap';
import { AckDispatcher, type AckDispatcherHooks } from '../../../actors/connection/ack-dispatcher.js';
import { SlotTable } from '../../../actors/connection/slot-table.js';
import { StudentSession } from '../../../actors/connection/student-session.js';
import { createWireTallies, readWireTallies, WireTallies } from '../../../actors/connection/wire-tallies.js';
import { WriteOutcome } from '../../../src/events/answer-event.js';
import { ACK_RECORD_BYTES, encodeAckRecord } from '../../../src/ring/ack-record.js';
import { createDoorbell, Doorbell } from '../../../src/ring/doorbell.js';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import type { RawStudent } from '../../helpers/raw-student.js';
import { startWsServer } from '../../helpers/ws-server.js';

const INCARNATION = 3;
const WRITERS = 2;

interface Student {
  session: StudentSession;
  client: RawStudent;
}

async function setup(t: Test) {
  const ackRings = Array.from({ length: WRITERS }, () => createRing(1 << 14));
  const doorbellSab = createDoorbell();
  const slots = new SlotTable<StudentSession>();
  const tallySab = createWireTallies();
  const tallies = new WireTallies(tallySab);
  const seen = { replaced: [] as StudentSession[], unavailable: [] as StudentSession[], afterDispatch: 0, ringAnswered: [] as number[] };
  const hooks: AckDispatcherHooks = {
    replaced: (session) => seen.replaced.push(session),
    unavailable: (session) => seen.unavailable.push(session),
    afterDispatch: () => (seen.afterDispatch += 1),
    ringAnswered: (count) => seen.ringAnswered.push(count),
  };
  const dispatcher = new AckDispatcher(ackRings, doorbellSab, INCARNATION, slots, hooks, tallies);
  const producers = ackRings.map((sab) => new RingProducer(sab));
  const server = await startWsServer(t);
  const student = async (name: string): Promise<Student> => {
    const { client, server: ws } = await server.pair();
    const session = new StudentSession(ws, '127.0.0.1', { eventsPerSecond: 100, burst: 100 }, tallies);
    session.student = name;
    session.phase = 'live';
    const { slot, generation } = slots.add(session);
    session.slot = slot;
    session.generation = generation;
    return { session, client };
  };
  /** A writer's answer for `seq` of `session`, written to ack ring `writer` and published. */
  const answer = (session: StudentSession, seq: number, outcome: WriteOutcome, overrides: { writer?: number; incarnation?: number; generation?: number } = {}) => {
    const producer = producers[overrides.writer ?? 0]!;
    const view = producer.tryReserve(ACK_RECORD_BYTES);
    if (view === null) throw new Error('ack ring full');
    encodeAckRecord({ slot: session.slot, generation: overrides.generation ?? session.generation, incarnation: overrides.incarnation ?? INCARNATION, seq, outcome }, view);
    producer.publish();
  };
  /** Marks `count` events of `session` as forwarded `agoMs` ago, as the gateway does. */
  const forwarded = (session: StudentSession, count: number, agoMs = 0) => {
    for (let index = 0; index < count; index += 1) session.noteReceived(performance.now() - agoMs);
    session.inFlight += count;
  };
  return { dispatcher, student, answer, forwarded, seen, slots, writerDoorbell: new Doorbell(doorbellSab), figures: () => readWireTallies([tallySab]) };
}

t.test('the stored answers of one round become one cumulative ack, with one latency each', async (t) => {
  const { dispatcher, student, answer, forwarded, seen, figures } = await setup(t);
  const s1 = await student('S1');
  forwarded(s1.session, 3, 5);
  answer(s1.session, 1, WriteOutcome.Stored);
  answer(s1.session, 2, WriteOutcome.Duplicate, { writer: 1 });
  answer(s1.session, 3, WriteOutcome.Stored);
  t.equal(dispatcher.dispatch(), 3, 'three answers handled');
  t.same(await s1.client.next((frame) => frame.t === 'ack'), { t: 'ack', seq: 3 });
  t.same(s1.client.frames, [{ t: 'ack', seq: 3 }], 'one ack frame, not three');
  t.equal(dispatcher.acksSent, 1);
  t.equal(s1.session.inFlight, 0, 'nothing of S1 is in flight any more');
  const latency = figures().ackLatency;
  t.equal(latency.count, 3, 'each acked event has its latency recorded');
  t.ok(latency.sumMs >= 15, `from when it was read (${latency.sumMs.toFixed(1)} ms in all)`);
  t.equal(seen.afterDispatch, 1, 'the forwarder is told ring room was freed');
  t.same(seen.ringAnswered, [3], 'and that 3 of its events left the rings');
  t.equal(dispatcher.dispatch(), 0, 'an empty round handles nothing');
  t.equal(seen.afterDispatch, 1, 'and tells nobody');
  t.same(seen.ringAnswered, [3]);
});

t.test('refusals are nacked by code; stale sessions and unavailable buckets go to the hooks', async (t) => {
  const { dispatcher, student, answer, forwarded, seen, figures } = await setup(t);
  const s1 = await student('S1');
  const s2 = await student('S2');
  const s3 = await student('S3');
  forwarded(s1.session, 3);
  forwarded(s2.session, 1);
  forwarded(s3.session, 1);
  answer(s1.session, 1, WriteOutcome.ExamClosed);
  answer(s1.session, 2, WriteOutcome.Submitted);
  answer(s1.session, 3, WriteOutcome.BadEvent);
  answer(s2.session, 1, WriteOutcome.StaleSession);
  answer(s3.session, 1, WriteOutcome.Unavailable);
  dispatcher.dispatch();
  await s1.client.next((frame) => frame.t === 'nack' && frame.seq === 3);
  t.same(s1.client.frames, [
    { t: 'nack', seq: 1, code: 'exam_closed' },
    { t: 'nack', seq: 2, code: 'submitted' },
    { t: 'nack', seq: 3, code: 'bad_event' },
  ], 'one nack per refused event, in order, and no ack');
  t.equal(dispatcher.nacksSent, 3);
  t.same(figures().frames.nacks, { exam_closed: 1, submitted: 1, bad_event: 1 }, 'each nack is counted by code');
  t.same(seen.replaced, [s2.session], 'the stale session goes to replaced');
  t.same(seen.unavailable, [s3.session], 'the unavailable one to unavailable');
  t.equal(dispatcher.acksSent, 0);
});

t.test('answers for a dead incarnation or for a slot since reused are dropped', async (t) => {
  const { dispatcher, student, answer, forwarded, slots, seen } = await setup(t);
  const s1 = await student('S1');
  forwarded(s1.session, 1);
  answer(s1.session, 7, WriteOutcome.Stored, { incarnation: INCARNATION - 1 });
  answer(s1.session, 8, WriteOutcome.Stored, { generation: s1.session.generation + 1 });
  t.equal(dispatcher.dispatch(), 2, 'both read off the ring');
  t.equal(s1.session.inFlight, 1, 'neither counted as an answer to S1');
  t.same(seen.ringAnswered, [1], "the reused slot's answer still left this incarnation's rings; the dead incarnation's did not count");

  // The slot freed and taken by another student: an answer to the old holder reaches nobody.
  slots.remove(s1.session.slot, s1.session.generation);
  const s2 = await student('S2');
  t.equal(s2.session.slot, s1.session.slot, 'S2 took the same slot');
  forwarded(s2.session, 1);
  answer(s1.session, 9, WriteOutcome.Stored);
  answer(s2.session, 1, WriteOutcome.Stored);
  dispatcher.dispatch();
  t.same(await s2.client.next((frame) => frame.t === 'ack'), { t: 'ack', seq: 1 }, 'S2 gets its own ack only');
  t.same(s2.client.frames, [{ t: 'ack', seq: 1 }]);
  t.same(s1.client.frames, [], 'S1 got nothing');
});

t.test('a resent event already acked is acked again', async (t) => {
  const { dispatcher, student, answer, forwarded } = await setup(t);
  const s1 = await student('S1');
  forwarded(s1.session, 5);
  for (let seq = 1; seq <= 5; seq += 1) answer(s1.session, seq, WriteOutcome.Stored);
  dispatcher.dispatch();
  await s1.client.next((frame) => frame.t === 'ack' && frame.seq === 5);
  // The client missed the ack and resent 4: it is a duplicate, and it still waits for an ack.
  forwarded(s1.session, 1);
  answer(s1.session, 4, WriteOutcome.Duplicate);
  dispatcher.dispatch();
  t.same(await s1.client.next((frame) => frame.t === 'ack' && frame.seq === 4), { t: 'ack', seq: 4 }, 'an ack of 4 again');
  t.same(s1.client.frames, [{ t: 'ack', seq: 5 }, { t: 'ack', seq: 4 }]);
});

t.test('started, it is woken by the writer\'s doorbell, not by its idle timeout; stop ends the loop', async (t) => {
  const { dispatcher, student, answer, forwarded, writerDoorbell } = await setup(t);
  const s1 = await student('S1');
  dispatcher.start();
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await dispatcher.stop();
  });
  await new Promise((resolve) => setTimeout(resolve, 20)); // let it park on the doorbell
  forwarded(s1.session, 1);
  const rangAt = performance.now();
  answer(s1.session, 1, WriteOutcome.Stored);
  writerDoorbell.ring();
  await s1.client.next((frame) => frame.t === 'ack');
  const wokeMs = performance.now() - rangAt;
  // The idle wait is 1 s: an ack within half of it came from the doorbell.
  t.ok(wokeMs < 500, `the ack went out ${wokeMs.toFixed(1)} ms after the ring`);
  await dispatcher.stop();
  stopped = true;
  forwarded(s1.session, 1);
  answer(s1.session, 2, WriteOutcome.Stored);
  writerDoorbell.ring();
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(s1.client.frames, [{ t: 'ack', seq: 1 }], 'a stopped dispatcher reads nothing more');
});
