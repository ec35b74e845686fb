// The forwarder on real rings and a real socket: events reach the ring of the session's writer in
// order, published once per turn with one doorbell ring; a full ring holds events and pauses the
// socket, and room freed moves them on in order and resumes it. Nothing is dropped but on a close.

import t, { type Test } from 'tap';
import { EventForwarder } from '../../../actors/connection/event-forwarder.js';
import { StudentSession } from '../../../actors/connection/student-session.js';
import { createWireTallies, WireTallies } from '../../../actors/connection/wire-tallies.js';
import { createDoorbell, Doorbell } from '../../../src/ring/doorbell.js';
import { decodeEventRecord, type EventEnvelope } from '../../../src/ring/event-record.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';
import { createRing } from '../../../src/ring/ring-layout.js';
import { waitFor } from '../../helpers/poll.js';
import { startWsServer } from '../../helpers/ws-server.js';

const WRITERS = 2;
/** The smallest ring: a few dozen events fill it. */
const RING_BYTES = 4096;

function envelope(session: StudentSession, seq: number): EventEnvelope {
  return {
    slot: session.slot,
    generation: session.generation,
    incarnation: 1,
    epoch: 1,
    bucket: session.writer,
    event: { exam: 'FWD', student: session.student, seq, kind: 'answer', question: 'Q1', value: `answer ${seq}`, clientTs: null, serverTs: 1_764_400_000_000 + seq },
  };
}

async function setup(t: Test) {
  const eventRings = Array.from({ length: WRITERS }, () => createRing(RING_BYTES));
  const writerDoorbells = Array.from({ length: WRITERS }, () => createDoorbell());
  const forwarder = new EventForwarder(eventRings, writerDoorbells);
  const consumers = eventRings.map((sab) => new RingConsumer(sab));
  const doorbells = writerDoorbells.map((sab) => new Doorbell(sab));
  const server = await startWsServer(t);
  const tallies = new WireTallies(createWireTallies());
  const session = async (student: string, writer: number): Promise<StudentSession> => {
    const { server: ws } = await server.pair();
    const made = new StudentSession(ws, '127.0.0.1', { eventsPerSecond: 1_000, burst: 1_000 }, tallies);
    made.student = student;
    made.writer = writer;
    made.phase = 'live';
    return made;
  };
  /** What a writer would take from ring `writer` now: the seqs, in ring order; their room is freed. */
  const drain = (writer: number): number[] => {
    const seqs: number[] = [];
    const consumer = consumers[writer]!;
    consumer.read((record) => seqs.push(decodeEventRecord(record).event.seq), 10_000);
    consumer.release(consumer.position());
    return seqs;
  };
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
  return { forwarder, doorbells, session, drain, nextTurn };
}

t.test('events of one turn reach their writer\'s ring in order, published once with one doorbell ring', async (t) => {
  const { forwarder, doorbells, session, drain, nextTurn } = await setup(t);
  const student = await session('S1', 1);
  const rung = doorbells.map((doorbell) => doorbell.snapshot());
  for (let seq = 1; seq <= 5; seq += 1) forwarder.forward(student, envelope(student, seq));
  t.same(drain(1), [], 'nothing is visible before the turn ends: the ring is published once');
  await nextTurn();
  t.same(drain(1), [1, 2, 3, 4, 5], 'then all five, in order');
  t.equal(doorbells[1]!.snapshot() - rung[1]!, 1, 'the writer\'s doorbell rang once for the turn');
  t.equal(doorbells[0]!.snapshot(), rung[0], 'the other writer was not woken');
  t.same(drain(0), [], 'and its ring holds nothing');
  t.equal(forwarder.forwarded, 5);
  t.equal(student.inFlight, 5, 'five events wait for a writer\'s answer');
});

t.test('a full ring holds events and pauses the socket; room freed moves them on in order and resumes it', async (t) => {
  const { forwarder, session, drain, nextTurn } = await setup(t);
  const student = await session('S1', 0);
  let seq = 0;
  while (forwarder.blockedCount === 0) forwarder.forward(student, envelope(student, (seq += 1)));
  for (let more = 0; more < 10; more += 1) forwarder.forward(student, envelope(student, (seq += 1)));
  t.equal(student.held.length, 11, 'the event that did not fit and the ten behind it are held');
  t.ok(student.ws.isPaused, 'the socket is paused: TCP pushes back on the client');
  t.equal(student.inFlight, seq, 'held events count as in flight');
  await nextTurn();
  const taken = drain(0);
  t.ok(taken.length > 0 && taken.length < seq, `the ring held ${taken.length} of ${seq}`);
  await waitFor('the held events to move into the freed ring', () => !forwarder.holdsEvents, { timeoutMs: 5_000, intervalMs: 1 });
  t.notOk(student.ws.isPaused, 'the socket reads again');
  t.equal(student.held.length, 0);
  await nextTurn();
  const all = [...taken, ...drain(0)];
  t.same(all, Array.from({ length: seq }, (_, index) => index + 1), 'every event once, in the order it came');
});

t.test('a session held for another reason too stays paused when its held events move on', async (t) => {
  const { forwarder, session, drain, nextTurn } = await setup(t);
  const student = await session('S1', 0);
  let seq = 0;
  while (forwarder.blockedCount === 0) forwarder.forward(student, envelope(student, (seq += 1)));
  student.holdReads('stop'); // a graceful stop began while its events waited for ring space
  await nextTurn();
  drain(0);
  await waitFor('the held event to move', () => !forwarder.holdsEvents, { timeoutMs: 5_000, intervalMs: 1 });
  t.notOk(student.readsHeldFor('ring'), 'the ring no longer holds it');
  t.ok(student.ws.isPaused, 'still paused: the stop holds it');
});

t.test('a blocked session does not hold up another session of another writer; a closed one\'s held events are dropped', async (t) => {
  const { forwarder, session, drain, nextTurn } = await setup(t);
  const blocked = await session('S1', 0);
  const other = await session('S2', 1);
  let seq = 0;
  while (forwarder.blockedCount === 0) forwarder.forward(blocked, envelope(blocked, (seq += 1)));
  forwarder.forward(other, envelope(other, 1));
  t.notOk(other.ws.isPaused, 'the other writer\'s ring had room');
  await nextTurn();
  t.same(drain(1), [1], 'the other session\'s event went through');

  forwarder.forget(blocked);
  t.equal(forwarder.blockedCount, 0);
  t.equal(blocked.held.length, 0, 'its held event is dropped: it was never acked, the client resends');
  const inRing = drain(0);
  await new Promise((resolve) => setTimeout(resolve, 20)); // several retry periods
  await nextTurn();
  t.same(drain(0), [], 'nothing of the closed session reaches the ring later');
  t.equal(inRing.length, seq - 1, 'what was in the ring before the close stays there');
});

t.test('an event that comes while earlier ones are held waits behind them, even when the ring has room again', async (t) => {
  const { forwarder, session, drain, nextTurn } = await setup(t);
  const student = await session('S1', 0);
  let seq = 0;
  while (forwarder.blockedCount === 0) forwarder.forward(student, envelope(student, (seq += 1)));
  await nextTurn();
  const taken = drain(0);
  // Before the retry timer fires: the ring has room, but the held event is older.
  forwarder.forward(student, envelope(student, (seq += 1)));
  t.equal(student.held.length, 2, 'held behind the earlier event');
  await waitFor('the held events to move', () => !forwarder.holdsEvents, { timeoutMs: 5_000, intervalMs: 1 });
  await nextTurn();
  t.same([...taken, ...drain(0)], Array.from({ length: seq }, (_, index) => index + 1), 'the ring holds them in the order they came');
});
