// The writer loop on real rings and a real redis-server: events are stored and answered per ring in
// ring order, with their slot, generation and incarnation; a replay answers Duplicate; batches
// keep to their limit; a closed storage gate or a Redis that is down leaves events in the rings,
// unanswered, and they are stored and answered once when it opens again.

import t, { type Test } from 'tap';
import { pino } from 'pino';
import { WriterLoop, type WriterLoopOptions } from '../../../actors/redis-writer/writer-loop.js';
import { WriteOutcome, type AnswerEvent } from '../../../src/events/answer-event.js';
import { bucketOf } from '../../../src/redis/bucket-keys.js';
import { BucketStore } from '../../../src/redis/bucket-store.js';
import { loadFunctionLibrary } from '../../../src/redis/function-library.js';
import { decodeAckRecord, type AckEnvelope } from '../../../src/ring/ack-record.js';
import { createDoorbell, Doorbell } from '../../../src/ring/doorbell.js';
import { encodeEventRecord, eventRecordLength, type EventEnvelope } from '../../../src/ring/event-record.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { createStorageGate, setStorageOpen } from '../../../src/storage/storage-gate.js';
import { pollUntil } from '../../helpers/poll.js';
import { startTestRedis } from '../../helpers/redis-server.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';

const EXAM = 'WLOOP';
const BUCKETS = 4;
const RINGS = 2;
const INCARNATION = 5;

type Answer = Pick<AckEnvelope, 'slot' | 'generation' | 'incarnation' | 'seq' | 'outcome'>;

async function setup(t: Test, options: Partial<WriterLoopOptions> = {}, connections = 1) {
  const redis = await startTestRedis(t);
  const admin = redis.client();
  await loadFunctionLibrary(admin);
  const eventRings = Array.from({ length: RINGS }, () => createRing(1 << 16));
  const ackRings = Array.from({ length: RINGS }, () => createRing(1 << 16));
  const connectionDoorbells = Array.from({ length: RINGS }, () => createDoorbell());
  const writerDoorbell = createDoorbell();
  const loop = new WriterLoop(
    { actorId: 'writer-test', eventRings, ackRings, doorbell: writerDoorbell, connectionDoorbells, batchMaxEvents: 64, lingerMs: 1, ...options },
    Array.from({ length: connections }, (_, index) => new BucketStore(redis.client(`w${index}`), BUCKETS)),
    pino({ level: 'silent' }),
  );
  let started = false;
  t.teardown(() => (started ? loop.stop() : undefined));
  const start = () => {
    started = true;
    loop.start();
  };
  const producers = eventRings.map((sab) => new RingProducer(sab));
  const doorbell = new Doorbell(writerDoorbell);
  /** A connection actor puts `seq` of `student` (slot `slot`) into ring `ring` and rings the writer. */
  const push = (ring: number, slot: number, seq: number) => {
    const student = `S${slot}`;
    const event: AnswerEvent = { exam: EXAM, student, seq, kind: 'answer', question: `Q${seq % 3}`, value: `${student} answer ${seq}`, clientTs: null, serverTs: 1_764_400_000_000 + seq };
    const envelope: EventEnvelope = { slot, generation: 2, incarnation: INCARNATION, epoch: 1, bucket: bucketOf(EXAM, student, BUCKETS), event };
    const view = producers[ring]!.tryReserve(eventRecordLength(envelope));
    if (view === null) throw new Error(`event ring ${ring} full`);
    encodeEventRecord(envelope, view);
    producers[ring]!.publish();
    doorbell.ring();
  };
  const ackConsumers = ackRings.map((sab) => new RingConsumer(sab));
  const answers: Answer[][] = ackRings.map(() => []);
  /** What the connection actors have been answered so far, per ring. */
  const drain = (): number => {
    ackConsumers.forEach((consumer, ring) => {
      consumer.read((record) => {
        const { slot, generation, incarnation, seq, outcome } = decodeAckRecord(record);
        answers[ring]!.push({ slot, generation, incarnation, seq, outcome });
      }, 10_000);
      consumer.release(consumer.position());
    });
    return answers.reduce((total, ring) => total + ring.length, 0);
  };
  const answered = (count: number, timeoutMs = 10_000) => pollUntil(`${count} answers`, drain, (seen) => seen >= count, { timeoutMs, intervalMs: 2 });
  const stored = async () => {
    const byStudent = await storedEventsByStudent(admin, EXAM, BUCKETS);
    return [...byStudent.values()].reduce((total, events) => total + events.length, 0);
  };
  const usedBytes = () => eventRings.map((sab) => new RingConsumer(sab).usedBytes()).reduce((a, b) => a + b, 0);
  const doorbells = connectionDoorbells.map((sab) => new Doorbell(sab));
  /** FCALLs Redis has run so far (INFO commandstats). */
  const fcalls = async () => Number(/cmdstat_fcall:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
  return { redis, loop, start, push, drain, answered, answers, stored, usedBytes, doorbells, fcalls };
}

const expected = (slot: number, seqs: number[], outcome: WriteOutcome): Answer[] => seqs.map((seq) => ({ slot, generation: 2, incarnation: INCARNATION, seq, outcome }));

t.test('events are stored and answered per ring, in ring order, addressed back to their slot', async (t) => {
  const { loop, start, push, answered, answers, stored, doorbells } = await setup(t);
  const rung = doorbells.map((doorbell) => doorbell.snapshot());
  start();
  // Ring 0 carries S0 and S1 interleaved, ring 1 carries S2.
  for (let seq = 1; seq <= 5; seq += 1) {
    push(0, 0, seq);
    push(0, 1, seq);
    push(1, 2, seq);
  }
  await answered(15);
  const interleaved = [1, 2, 3, 4, 5].flatMap((seq) => [...expected(0, [seq], WriteOutcome.Stored), ...expected(1, [seq], WriteOutcome.Stored)]);
  t.same(answers[0], interleaved, 'ring 0: every event answered Stored, in the order it came');
  t.same(answers[1], expected(2, [1, 2, 3, 4, 5], WriteOutcome.Stored), 'ring 1 likewise');
  t.equal(await stored(), 15, 'Redis holds the 15 events');
  t.ok(doorbells.every((doorbell, ring) => doorbell.snapshot() > rung[ring]!), 'both connection actors were woken');
  t.match(loop.status(), { eventsStored: 15, duplicates: 0, failedBatches: 0 });
  await pollUntil('the rings to be released', () => loop.isIdle(), (idle) => idle, { timeoutMs: 5_000, intervalMs: 2 });

  // A restarted connection actor resends: the writer answers Duplicate and stores nothing more.
  for (let seq = 4; seq <= 6; seq += 1) push(1, 2, seq);
  await answered(18);
  t.same(answers[1]!.slice(5), [...expected(2, [4, 5], WriteOutcome.Duplicate), ...expected(2, [6], WriteOutcome.Stored)], 'resent 4 and 5 are duplicates, 6 is new');
  t.equal(await stored(), 16, 'only seq 6 was added');
  t.match(loop.status(), { eventsStored: 16, duplicates: 2 });
});

t.test('a batch over many buckets goes to Redis as one call per 512 events, and is answered per event', async (t) => {
  const { loop, start, push, answered, answers, stored, fcalls } = await setup(t, { batchMaxEvents: 2048 }, 2);
  const students = 24;
  const buckets = new Set(Array.from({ length: students }, (_, slot) => bucketOf(EXAM, `S${slot}`, BUCKETS)));
  t.equal(buckets.size, BUCKETS, 'the students fill every bucket');
  for (let slot = 0; slot < students; slot += 1) push(slot % RINGS, slot, 1);
  let before = await fcalls();
  start();
  await answered(students);
  t.equal(loop.status().batches, 1, 'one batch');
  t.equal((await fcalls()) - before, 1, `${students} events in ${BUCKETS} buckets: 1 call`);
  t.same(answers.flat().map((answer) => answer.outcome), new Array(students).fill(WriteOutcome.Stored));
  t.same(answers[0]!.map((answer) => answer.slot), Array.from({ length: students / 2 }, (_, index) => index * 2), 'ring 0 answered in its order');
  await pollUntil('the rings to be released', () => loop.isIdle(), (idle) => idle, { timeoutMs: 5_000, intervalMs: 2 });

  // 600 events put in the rings within one turn of this thread (the writer's too): one batch, two calls.
  for (let seq = 2; seq <= 26; seq += 1) for (let slot = 0; slot < students; slot += 1) push(slot % RINGS, slot, seq);
  before = await fcalls();
  const batches = loop.status().batches;
  await answered(students * 26);
  t.equal(loop.status().batches - batches, 1, 'one batch');
  t.equal((await fcalls()) - before, 2, '600 events: 2 calls, one on each connection');
  t.equal(await stored(), students * 26);
});

t.test('a batch never exceeds batchMaxEvents', async (t) => {
  const { loop, start, push, answered, stored } = await setup(t, { batchMaxEvents: 4 });
  // Everything is in the rings before the writer starts: it must cut it into batches of 4.
  for (let seq = 1; seq <= 10; seq += 1) push(seq % RINGS, seq % RINGS, seq);
  let largest = 0;
  start();
  await pollUntil('10 answers', () => {
    largest = Math.max(largest, loop.status().lastBatchEvents);
    return loop.status().eventsStored;
  }, (count) => count >= 10, { intervalMs: 1 });
  await answered(10);
  t.ok(largest > 0 && largest <= 4, `the largest batch seen had ${largest} events`);
  t.ok(loop.status().batches >= 3, `10 events took ${loop.status().batches} batches`);
  t.equal(await stored(), 10);
});

t.test('a closed storage gate leaves events in the rings unanswered; opened, they are stored', async (t) => {
  const gate = createStorageGate();
  setStorageOpen(gate, false);
  const { loop, start, push, drain, answered, stored, usedBytes } = await setup(t, { storageGate: gate });
  start();
  for (let seq = 1; seq <= 6; seq += 1) push(0, 0, seq);
  // The writer looks at the gate every 100 ms: three looks and still nothing taken.
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(drain(), 0, 'no answer while the gate is closed');
  t.ok(usedBytes() > 0, 'the events wait in the ring');
  t.equal(await stored(), 0, 'Redis got nothing');
  t.equal(loop.status().batches, 0);
  t.equal(loop.status().phase, 'gated', 'its status says the disk gate holds it');
  setStorageOpen(gate, true);
  await answered(6);
  t.equal(await stored(), 6, 'opened, the six are stored');
});

t.test('while Redis is down nothing is answered and the rings keep the events; once back, each is stored and answered once', async (t) => {
  const { redis, start, push, drain, answered, answers, stored, usedBytes } = await setup(t);
  start();
  push(0, 0, 1);
  await answered(1);
  await redis.server.stop();
  for (let seq = 2; seq <= 6; seq += 1) push(0, 0, seq);
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(drain(), 1, 'no answer while Redis is down');
  t.ok(usedBytes() > 0, 'the events stay in the ring');
  await redis.server.start();
  await answered(6, 30_000);
  t.same(answers[0], expected(0, [1, 2, 3, 4, 5, 6], WriteOutcome.Stored), 'each answered Stored once, in order');
  t.equal(await stored(), 6, 'and stored once');
});

t.test('a batch that Redis refuses stays in the ring and is written again, then answered once', async (t) => {
  const { redis, loop, start, push, drain, answered, answers, stored } = await setup(t);
  // Without the function library every write fails (not an event's fault): the batch must wait.
  const admin = redis.client('admin');
  await admin.function('FLUSH');
  start();
  for (let seq = 1; seq <= 4; seq += 1) push(1, 3, seq);
  await pollUntil('a failed batch', () => loop.status().failedBatches, (failed) => failed >= 2, { timeoutMs: 5_000, intervalMs: 2 });
  t.equal(drain(), 0, 'nothing is answered while the writes fail');
  await loadFunctionLibrary(admin);
  await answered(4);
  t.same(answers[1], expected(3, [1, 2, 3, 4], WriteOutcome.Stored), 'once the library is back, each event is answered Stored once');
  t.equal(await stored(), 4);
});

t.test('a batch waiting on Redis shows in the status as writing, with its size, until Redis answers', async (t) => {
  const { redis, loop, start, push, answered, stored } = await setup(t);
  start();
  push(0, 0, 1);
  await answered(1);
  await pollUntil('the writer idle', () => loop.status(), (status) => status.phase === 'idle');
  t.equal(loop.status().batchEvents, 0, 'no batch while idle');
  // Redis holds every write for a while (what a Redis that never answers looks like to the writer).
  await redis.client().call('CLIENT', 'PAUSE', '1500', 'WRITE');
  for (let seq = 2; seq <= 4; seq += 1) push(1, 1, seq);
  const waiting = await pollUntil('the batch out to Redis', () => loop.status(), (status) => status.phase === 'writing' && status.phaseMs >= 300);
  t.equal(waiting.batchEvents, 3, 'the batch of three is the one waiting');
  t.ok(waiting.phaseMs < 1500, `waiting for ${waiting.phaseMs} ms so far`);
  await answered(4);
  t.equal(await stored(), 4, 'stored once Redis answers');
  await pollUntil('the writer idle again', () => loop.status(), (status) => status.phase === 'idle');
});
