// A Redis writer on a real Cluster whose one primary stops answering (SIGSTOP): its bucket is answered
// Unavailable after writers.shardWaitMs while another shard's events are stored, and the refused session's later events stay refused.

import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { WriterLoop } from '../../actors/redis-writer/writer-loop.js';
import { WriteOutcome, type AnswerEvent } from '../../src/events/answer-event.js';
import { bucketKeys, bucketOf } from '../../src/redis/bucket-keys.js';
import { BucketStore } from '../../src/redis/bucket-store.js';
import { loadFunctionLibrary } from '../../src/redis/function-library.js';
import { waitForRedis } from '../../src/redis/redis-client.js';
import { decodeAckRecord } from '../../src/ring/ack-record.js';
import { createDoorbell, Doorbell } from '../../src/ring/doorbell.js';
import { encodeEventRecord, eventRecordLength, type EventEnvelope } from '../../src/ring/event-record.js';
import { RingConsumer } from '../../src/ring/ring-consumer.js';
import { createRing } from '../../src/ring/ring-layout.js';
import { RingProducer } from '../../src/ring/ring-producer.js';
import { startTestCluster } from '../helpers/redis-cluster.js';
import { storedEventsByStudent } from '../helpers/stored-events.js';

const EXAM = 'CL-WISO';
const BUCKETS = 16;
const SHARD_WAIT_MS = 300;
/** Longer than the probe interval (shard-isolation.ts SHARD_PROBE_MS), so the next call is a probe. */
const AFTER_PROBE_MS = 700;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

t.test('a stopped primary: its bucket is Unavailable, the others are stored, and the refused session stays refused until it reconnects', async (t) => {
  // A long node timeout: the stopped node is never failed over, so only the writer's deadline acts.
  const cluster = await startTestCluster(t, { primaries: 3, replicas: 0, nodeTimeoutMs: 30_000 });
  const admin = cluster.client('admin');
  await waitForRedis(admin, 15_000);
  await loadFunctionLibrary(admin);
  const students = Array.from({ length: 40 }, (_, index) => `S${index}`);
  const ownerOf = async (student: string) => cluster.primaryOf(bucketKeys.log(EXAM, bucketOf(EXAM, student, BUCKETS)));
  const victim = await ownerOf(students[0]!);
  let healthy: string | undefined;
  for (const student of students) if ((await ownerOf(student)) !== victim) healthy ??= student;
  const stuck = students[0]!;
  t.ok(healthy !== undefined, `${stuck} lives on ${victim.port}, ${healthy} elsewhere`);
  const other = healthy!;

  const stores = [0, 1].map((index) => new BucketStore(cluster.client(`w${index}`), BUCKETS));
  const eventRing = createRing(1 << 16);
  const ackRing = createRing(1 << 16);
  const writerDoorbell = createDoorbell();
  const logged: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) });
  const loop = new WriterLoop(
    { actorId: 'writer-iso', eventRings: [eventRing], ackRings: [ackRing], doorbell: writerDoorbell, connectionDoorbells: [createDoorbell()], batchMaxEvents: 64, lingerMs: 2, shardWaitMs: SHARD_WAIT_MS },
    stores,
    pino({ level: 'warn' }, sink),
  );
  loop.start();
  t.teardown(() => loop.stop());

  const producer = new RingProducer(eventRing);
  const doorbell = new Doorbell(writerDoorbell);
  const acks = new RingConsumer(ackRing);
  const slotOf = (student: string) => students.indexOf(student);
  const epochs = new Map<string, number>();
  for (const student of [stuck, other]) epochs.set(student, (await stores[0]!.claimSession(EXAM, student)).epoch);

  /** Sends events (student, seq) in one go and waits for an answer to each: the outcomes, in order. */
  const send = async (events: Array<[string, number]>): Promise<string[]> => {
    for (const [student, seq] of events) {
      const event: AnswerEvent = { exam: EXAM, student, seq, kind: 'answer', question: `Q${seq}`, value: `${student}-${seq}`, clientTs: null, serverTs: 1764400000000 + seq };
      const envelope: EventEnvelope = { slot: slotOf(student), generation: 1, incarnation: 1, epoch: epochs.get(student)!, bucket: bucketOf(EXAM, student, BUCKETS), event };
      encodeEventRecord(envelope, producer.tryReserve(eventRecordLength(envelope))!);
    }
    producer.publish();
    doorbell.ring();
    const answers: string[] = [];
    const deadline = Date.now() + 20_000;
    while (answers.length < events.length && Date.now() < deadline) {
      acks.read((record) => {
        const ack = decodeAckRecord(record);
        const name = Object.entries(WriteOutcome).find(([, value]) => value === ack.outcome)![0];
        answers.push(`${students[ack.slot]!}/${ack.seq} ${name}`);
      }, 1_000);
      acks.release(acks.position());
      await sleep(5);
    }
    return answers;
  };

  t.same(await send([[stuck, 1], [other, 1]]), [`${stuck}/1 Stored`, `${other}/1 Stored`], 'both shards store while healthy');

  victim.freeze();
  t.teardown(() => victim.thaw());
  t.same(await send([[stuck, 2], [other, 2]]), [`${stuck}/2 Unavailable`, `${other}/2 Stored`], 'the stopped shard is late: its event is Unavailable, the other shard\'s is stored in the same batch');
  t.same(await send([[stuck, 3], [other, 3]]), [`${stuck}/3 Unavailable`, `${other}/3 Stored`], 'within the probe interval the down bucket is refused without a call');
  let status = loop.status();
  t.match(status.shards, { heldBack: 1, heldBackByBucket: { [`${EXAM}/${bucketOf(EXAM, stuck, BUCKETS)}`]: 1 }, unavailable: 2, lateCalls: 1 }, 'the writer status says which bucket holds back how many students');

  victim.thaw();
  await sleep(AFTER_PROBE_MS);
  t.same(await send([[stuck, 4], [other, 4]]), [`${stuck}/4 Unavailable`, `${other}/4 Stored`], 'rule 2: with the shard back, a later event of the refused session is still refused');

  // The client reconnects: a new epoch, and it resends everything above the welcome's lastSeq.
  // The late call for seq 2 may have been stored after the thaw; lastSeq then covers it.
  const claim = await stores[0]!.claimSession(EXAM, stuck);
  epochs.set(stuck, claim.epoch);
  t.ok(claim.lastSeq === 1 || claim.lastSeq === 2, `lastSeq after the reconnect is ${claim.lastSeq}`);
  const resend: Array<[string, number]> = [];
  for (let seq = claim.lastSeq + 1; seq <= 4; seq += 1) resend.push([stuck, seq]);
  t.same(await send(resend), resend.map(([student, seq]) => `${student}/${seq} Stored`), 'the new session is written again, in order');
  status = loop.status();
  t.equal(status.shards?.heldBack, 0, 'the new epoch released the hold');
  t.same(status.shards?.downBuckets, [], 'and the bucket is up again');

  const stored = await storedEventsByStudent(admin, EXAM, BUCKETS);
  t.same(stored.get(stuck)?.map((event) => event.seq), [1, 2, 3, 4], `${stuck}: every event stored once, in seq order`);
  t.same(stored.get(other)?.map((event) => event.seq), [1, 2, 3, 4], `${other}: every event stored once, in seq order`);
  t.ok(logged.some((line) => line.level === 40 && line.exam === EXAM && typeof line.msg === 'string' && line.msg.includes('cannot be written now')), 'one warning names the bucket that went down');
});
