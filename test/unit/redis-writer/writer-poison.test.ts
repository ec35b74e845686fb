// A Redis writer under steady traffic from several students over two rings meets one poison event
// (a record its ux_write raises on). Issue 10 item 7: the writer must not retry that batch forever.
// The poison event is answered BadEvent, every other event its real outcome, in ring order, each
// exactly once; Redis holds every other event once, in seq order, the poison student's later ones too.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { WriterLoop } from '../../../actors/redis-writer/writer-loop.js';
import { WriteOutcome, type AnswerEvent } from '../../../src/events/answer-event.js';
import { bucketOf } from '../../../src/redis/bucket-keys.js';
import { BucketStore } from '../../../src/redis/bucket-store.js';
import { loadFunctionLibrary } from '../../../src/redis/function-library.js';
import { decodeAckRecord } from '../../../src/ring/ack-record.js';
import { createDoorbell, Doorbell } from '../../../src/ring/doorbell.js';
import { encodeEventRecord, eventRecordLength, type EventEnvelope } from '../../../src/ring/event-record.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { pollUntil } from '../../helpers/poll.js';
import { startTestRedis } from '../../helpers/redis-server.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';

const EXAM = 'POISON';
const BUCKETS = 4;
const STUDENTS = 8;
const SEQS = 60;
const POISON = { student: 'S3', seq: 25 };
const RINGS = 2;
const DEADLINE_MS = 20_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Answered {
  student: string;
  seq: number;
  outcome: WriteOutcome;
}

t.test('one poison event under steady traffic: isolated and answered, everyone else acked, nothing lost or doubled', async (t) => {
  const server = await startTestRedis(t);
  const redis = server.client();
  await loadFunctionLibrary(redis);
  const stores = [new BucketStore(server.client('w0'), BUCKETS), new BucketStore(server.client('w1'), BUCKETS)];

  const eventRings = Array.from({ length: RINGS }, () => createRing(1 << 16));
  const ackRings = Array.from({ length: RINGS }, () => createRing(1 << 16));
  const connectionDoorbells = Array.from({ length: RINGS }, () => createDoorbell());
  const writerDoorbell = createDoorbell();
  const logged: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) });
  const loop = new WriterLoop(
    { actorId: 'writer-test', eventRings, ackRings, doorbell: writerDoorbell, connectionDoorbells, batchMaxEvents: 32, lingerMs: 2 },
    stores,
    pino({ level: 'warn' }, sink),
  );
  loop.start();
  t.teardown(() => loop.stop());

  // Student i writes through ring i % 2 (its connection actor), slot i; the slot names it in acks.
  const students = Array.from({ length: STUDENTS }, (_, index) => `S${index}`);
  const producers = eventRings.map((sab) => new RingProducer(sab));
  const doorbell = new Doorbell(writerDoorbell);
  const sent: Array<Array<{ student: string; seq: number }>> = eventRings.map(() => []);
  const push = async (index: number, seq: number) => {
    const student = students[index]!;
    const event: AnswerEvent = seq === 1
      ? { exam: EXAM, student, seq, kind: 'open', question: null, value: null, clientTs: null, serverTs: 1764400000000 + seq }
      : { exam: EXAM, student, seq, kind: 'answer', question: `Q${seq % 5}`, value: `${student} says ${seq}`, clientTs: null, serverTs: 1764400000000 + seq };
    // The gateway would nack this itself; a ring carries it all the same, and ux_write raises on it.
    if (student === POISON.student && seq === POISON.seq) event.question = 'not an id';
    const envelope: EventEnvelope = { slot: index, generation: 1, incarnation: 1, epoch: 1, bucket: bucketOf(EXAM, student, BUCKETS), event };
    const ring = index % RINGS;
    let view = producers[ring]!.tryReserve(eventRecordLength(envelope));
    while (view === null) {
      await sleep(1);
      view = producers[ring]!.tryReserve(eventRecordLength(envelope));
    }
    encodeEventRecord(envelope, view);
    producers[ring]!.publish();
    sent[ring]!.push({ student, seq });
    doorbell.ring();
  };

  // The connection actors' side: every answer, per ring, in the order it came back.
  const answered: Answered[][] = eventRings.map(() => []);
  const consumers = ackRings.map((sab) => new RingConsumer(sab));
  const drainAcks = () => {
    consumers.forEach((consumer, ring) => {
      consumer.read((record) => {
        const ack = decodeAckRecord(record);
        answered[ring]!.push({ student: students[ack.slot]!, seq: ack.seq, outcome: ack.outcome });
      }, 10_000);
      consumer.release(consumer.position());
    });
  };
  const answeredCount = () => answered.reduce((total, ring) => total + ring.length, 0);

  // Steady traffic: every student one event per round, a few ms apart, so batches mix students.
  for (let seq = 1; seq <= SEQS; seq += 1) {
    for (let index = 0; index < STUDENTS; index += 1) await push(index, seq);
    drainAcks();
    await sleep(2);
  }
  await pollUntil(
    'every event to be answered',
    () => {
      drainAcks();
      return answeredCount();
    },
    (count) => count >= STUDENTS * SEQS,
    { timeoutMs: DEADLINE_MS, intervalMs: 5 },
  );
  t.equal(answeredCount(), STUDENTS * SEQS, 'every event was answered: the writer did not stall on the poison batch');

  for (let ring = 0; ring < RINGS; ring += 1) {
    t.same(answered[ring]!.map(({ student, seq }) => ({ student, seq })), sent[ring], `ring ${ring}: one answer per event, in ring order`);
  }
  const all = answered.flat();
  const bad = all.filter(({ outcome }) => outcome === WriteOutcome.BadEvent);
  t.same(bad.map(({ student, seq }) => ({ student, seq })), [POISON], 'only the poison event is BadEvent');
  t.same(all.filter(({ outcome }) => outcome !== WriteOutcome.Stored && outcome !== WriteOutcome.BadEvent), [], 'every other event was stored');
  const poisonAt = all.findIndex((answer) => answer.outcome === WriteOutcome.BadEvent);
  const ackedAfterPoison = all.slice(poisonAt + 1).filter(({ student }) => student !== POISON.student).length;
  t.ok(ackedAfterPoison > 0, `other students' events after the poison one were acked (${ackedAfterPoison})`);

  const stored = await storedEventsByStudent(redis, EXAM, BUCKETS);
  for (const student of students) {
    const expected = Array.from({ length: SEQS }, (_, index) => index + 1).filter((seq) => student !== POISON.student || seq !== POISON.seq);
    t.same(stored.get(student)?.map((event) => event.seq), expected, `${student}: stored once each, in seq order${student === POISON.student ? ', all but the poison seq' : ''}`);
  }

  const status = loop.status();
  t.match(status, { badEvents: 1, eventsStored: STUDENTS * SEQS - 1, duplicates: 0, failedBatches: 0 }, 'the writer status counts the bad event');
  t.ok(status.isolatedBatches >= 1, `isolation ran (${status.isolatedBatches} batch(es))`);
  const line = logged.find((entry) => entry.level === 50 && entry.student === POISON.student);
  t.match(line, { exam: EXAM, student: POISON.student, seq: POISON.seq, redisError: /UXBAD event \d+ question/ }, 'one error line names exam, student, seq and the Redis error');
  t.equal(logged.filter((entry) => entry.level === 50).length, 1, 'exactly one error line');
});
