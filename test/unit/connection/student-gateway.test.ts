// The student protocol of one connection actor without the actor: a real ws server hands sockets
// to the gateway, which claims sessions in a real redis-server and forwards events into real rings.
// The rate limits run on a fake clock, so a refill is a step of the test, not a sleep.

import { pino } from 'pino';
import t, { type Test } from 'tap';
import { EventForwarder } from '../../../actors/connection/event-forwarder.js';
import type { ConnectionLimits } from '../../../actors/connection/protocol.js';
import { SessionRegistry } from '../../../actors/connection/session-registry.js';
import { SlotTable } from '../../../actors/connection/slot-table.js';
import { StudentGateway } from '../../../actors/connection/student-gateway.js';
import type { StudentSession } from '../../../actors/connection/student-session.js';
import { createWireTallies, readWireTallies, WireTallies } from '../../../actors/connection/wire-tallies.js';
import { mintStudentToken } from '../../../src/auth/student-token.js';
import { CloseCode } from '../../../src/protocol/close-codes.js';
import { bucketOf } from '../../../src/redis/bucket-keys.js';
import { BucketStore } from '../../../src/redis/bucket-store.js';
import { loadFunctionLibrary } from '../../../src/redis/function-library.js';
import { createDoorbell } from '../../../src/ring/doorbell.js';
import { decodeEventRecord, type EventEnvelope } from '../../../src/ring/event-record.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';
import { createRing } from '../../../src/ring/ring-layout.js';
import type { RawStudent } from '../../helpers/raw-student.js';
import { startTestRedis } from '../../helpers/redis-server.js';
import { startWsServer } from '../../helpers/ws-server.js';

const EXAM = 'GW';
const BUCKETS = 4;
const WRITERS = 2;
const SECRET = 'gateway-unit-test-secret-of-enough-length';
const INCARNATION = 7;

const LIMITS: ConnectionLimits = {
  helloTimeoutMs: 10_000,
  maxFrameBytes: 64 * 1024,
  maxValueBytes: 16 * 1024,
  maxConnections: 100,
  maxConnectionsPerAddress: 100,
  maxUnwelcomed: 100,
  maxUnwelcomedPerAddress: 100,
  pingIntervalMs: 30_000,
  rateLimit: { eventsPerSecond: 10, burst: 2, abuseStrikes: 3 },
  tls: null,
};

const token = (student: string, exam = EXAM) => mintStudentToken(SECRET, { exam, student, expiresAt: Math.floor(Date.now() / 1000) + 3600 });
/** The close of `client`, or a failure naming the frames it got if none comes within 5 s. */
async function closeOf(client: RawStudent): Promise<{ code: number; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`not closed within 5 s; frames: ${JSON.stringify(client.frames)}`)), 5_000);
  });
  try {
    return await Promise.race([client.closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

const event = (seq: number) => ({ t: 'ev', seq, k: 'answer', q: 'Q1', v: `answer ${seq}` });

async function setup(t: Test, limits: Partial<ConnectionLimits> = {}) {
  const redis = await startTestRedis(t);
  await loadFunctionLibrary(redis.client());
  const eventRings = Array.from({ length: WRITERS }, () => createRing(1 << 16));
  const forwarder = new EventForwarder(eventRings, eventRings.map(() => createDoorbell()));
  const tallySab = createWireTallies();
  let clock = 1_000;
  const hooks = { welcomed: [] as StudentSession[], released: [] as StudentSession[] };
  const gateway = new StudentGateway({
    incarnation: INCARNATION,
    buckets: BUCKETS,
    writers: WRITERS,
    authSecret: SECRET,
    limits: { ...LIMITS, ...limits },
    store: new BucketStore(redis.client('gateway'), BUCKETS),
    storedAnswers: () => Promise.resolve(new Map()),
    forwarder,
    registry: new SessionRegistry(),
    slots: new SlotTable<StudentSession>(),
    tallies: new WireTallies(tallySab),
    log: pino({ level: 'silent' }),
    traceExams: new Set(),
    released: (session) => hooks.released.push(session),
    welcomed: (session) => hooks.welcomed.push(session),
    now: () => clock,
  });
  gateway.start();
  t.teardown(() => gateway.stop());
  const server = await startWsServer(t, (ws, address) => gateway.accept(ws, address, performance.now(), performance.now()));
  const connect = async (): Promise<RawStudent> => (await server.pair()).client;
  const hello = async (student: string): Promise<RawStudent> => {
    const client = await connect();
    client.send({ t: 'hello', token: token(student) });
    const welcome = await client.next((frame) => frame.t === 'welcome' || frame.t === 'err');
    if (welcome.t !== 'welcome') throw new Error(`no welcome for ${student}: ${JSON.stringify(welcome)}`);
    return client;
  };
  const consumers = eventRings.map((sab) => new RingConsumer(sab));
  /** The events the writers would take now, ring by ring; their room is freed. */
  const inRings = (): EventEnvelope[][] =>
    consumers.map((consumer) => {
      const taken: EventEnvelope[] = [];
      consumer.read((record) => taken.push(decodeEventRecord(record)), 10_000);
      consumer.release(consumer.position());
      return taken;
    });
  /** A frame round trip: everything the client sent before has been read by the gateway. */
  const roundTrip = async (client: RawStudent) => {
    const pong = new Promise<void>((resolve) => client.ws.once('pong', () => resolve()));
    client.ws.ping();
    await pong;
    await new Promise((resolve) => setImmediate(resolve)); // and the forwarder's publish ran
  };
  return { gateway, hooks, connect, hello, inRings, roundTrip, tick: (ms: number) => (clock += ms), figures: () => readWireTallies([tallySab]) };
}

t.test('a valid hello is welcomed and its events go into the ring of its bucket\'s writer', async (t) => {
  const { hooks, hello, inRings, roundTrip } = await setup(t);
  const client = await hello('S1');
  t.match(client.frames[0], { t: 'welcome', exam: EXAM, student: 'S1', lastSeq: 0, state: 'open' });
  t.equal(hooks.welcomed.length, 1, 'its place among the unwelcomed is given back once');
  client.send(event(1));
  client.send(event(2));
  await roundTrip(client);
  const writer = bucketOf(EXAM, 'S1', BUCKETS) % WRITERS;
  const rings = inRings();
  t.same(rings[1 - writer], [], 'the other writer gets nothing');
  t.same(rings[writer]!.map((envelope) => envelope.event.seq), [1, 2], 'both events, in order, to the writer of its bucket');
  const session = hooks.welcomed[0]!;
  t.match(rings[writer]![0], { slot: session.slot, generation: session.generation, incarnation: INCARNATION, epoch: session.epoch, bucket: bucketOf(EXAM, 'S1', BUCKETS) });
  t.match(rings[writer]![1]!.event, { exam: EXAM, student: 'S1', seq: 2, kind: 'answer', question: 'Q1', value: 'answer 2' });
  t.ok(session.epoch > 0, 'the session carries the epoch Redis granted');
});

t.test('a bad token is refused with err unauthorized and close 4401, and claims nothing', async (t) => {
  const { hooks, connect } = await setup(t);
  const client = await connect();
  client.send({ t: 'hello', token: token('S1').slice(0, -2) + 'xx' });
  t.match(await closeOf(client), { code: CloseCode.BadToken });
  t.match(client.frames, [{ t: 'err', code: 'unauthorized' }]);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(hooks.released.length, 1, 'the socket is released');
  t.equal(hooks.welcomed.length, 1, 'and its unwelcomed place given back, once');
});

t.test('protocol violations close 4400: an event before hello, a binary frame, a second hello', async (t) => {
  const { connect, hello } = await setup(t);
  const early = await connect();
  early.send(event(1));
  t.match(await closeOf(early), { code: CloseCode.ProtocolViolation }, 'an event before hello');
  const binary = await connect();
  binary.ws.send(Buffer.from([1, 2, 3]));
  t.match(await closeOf(binary), { code: CloseCode.ProtocolViolation }, 'a binary frame');
  const twice = await hello('S2');
  twice.send({ t: 'hello', token: token('S2') });
  t.match(await closeOf(twice), { code: CloseCode.ProtocolViolation }, 'a second hello');
});

t.test('no hello in time: closed 4408', async (t) => {
  const { connect } = await setup(t, { helloTimeoutMs: 100 });
  const client = await connect();
  t.match(await closeOf(client), { code: CloseCode.HelloTimeout });
});

t.test('past the burst an event is refused, and so is every later seq until it is resent after the refill', async (t) => {
  const { hello, inRings, roundTrip, tick } = await setup(t);
  const client = await hello('S1');
  for (let seq = 1; seq <= 4; seq += 1) client.send(event(seq));
  await roundTrip(client);
  t.same(client.frames.slice(1).map((frame) => [frame.t, frame.code]), [['err', 'rate_limited'], ['err', 'rate_limited']], 'seqs 3 and 4 refused');
  t.match(client.frames[2], { msg: /resend from seq 3/ }, 'seq 4 is refused because 3 was: its ack would cover 3');
  t.same(inRings().flat().map((envelope) => envelope.event.seq), [1, 2], 'only the burst of 2 reached a ring');

  tick(100); // one token at 10/s
  client.send(event(4));
  await roundTrip(client);
  t.match(client.frames[3], { t: 'err', code: 'rate_limited', msg: /resend from seq 3/ }, 'a token is back, but 4 still waits for 3');
  client.send(event(3));
  tick(100);
  client.send(event(4));
  await roundTrip(client);
  t.same(inRings().flat().map((envelope) => envelope.event.seq), [3, 4], 'resent in order after the refill, both pass');
  t.equal(client.frames.length, 4, 'and nothing more was refused');
});

t.test('refusals in a row past abuseStrikes close the socket 4429', async (t) => {
  const { hello, figures } = await setup(t);
  const client = await hello('S1');
  // A burst of 2, then refusals 1, 2 and 3 in a row: the third is abuse.
  client.send({ t: 'ev', seq: 1, k: 'bogus' });
  client.send({ t: 'ev', seq: 2, k: 'bogus' });
  for (let seq = 3; seq <= 5; seq += 1) client.send({ t: 'ev', seq, k: 'bogus' });
  t.match(await closeOf(client), { code: CloseCode.RateAbuse });
  t.same(client.frames.slice(1).map((frame) => frame.t === 'nack' ? `nack ${String(frame.code)}` : `err ${String(frame.code)}`), ['nack bad_event', 'nack bad_event', 'err rate_limited', 'err rate_limited', 'err rate_limited']);
  t.equal(figures().frames.nacks.bad_event, 2, 'bad events are metered like any event');
});

t.test('a newer hello of the same student replaces the live session: err replaced, close 4409', async (t) => {
  const { hello } = await setup(t);
  const first = await hello('S1');
  const second = await hello('S1');
  t.match(await closeOf(first), { code: CloseCode.Replaced });
  t.match(first.frames.at(-1), { t: 'err', code: 'replaced' });
  t.ok((second.frames[0]!.lastSeq as number) >= 0 && second.ws.readyState === second.ws.OPEN, 'the newer one stays live');
});
