// A connection actor's presence beacon against a real Redis: a session is written once and a
// heartbeat per bucket after that, leaves and stops end counts, and writes Redis lost or refused
// are written again under a new holder, so `connected` comes back right by itself.
import t, { type Test } from 'tap';
import pino from 'pino';
import { PresenceBeacon, SUPERSEDED, type PresentSession } from '../../../actors/connection/presence-beacon.js';
import { SlotTable } from '../../../actors/connection/slot-table.js';
import { bucketKeys } from '../../../src/redis/bucket-keys.js';
import { loadFunctionLibrary } from '../../../src/redis/function-library.js';
import { PresenceStore, type PresenceReply, type PresenceUpdate } from '../../../src/redis/presence-store.js';
import { storeFixture } from '../redis/store-fixture.js';

const BUCKETS = 4;
/** Long enough that nothing expires by the clock while a test runs; the tests move time by hand. */
const TIMING = { refreshMs: 1_000, ttlMs: 60_000 };
const silent = pino({ level: 'silent' });

/** The real store, with every call it makes kept for the test to look at. */
class RecordingStore extends PresenceStore {
  readonly calls: PresenceUpdate[] = [];
  override apply(update: PresenceUpdate, now?: number): Promise<PresenceReply> {
    this.calls.push({ ...update, join: [...update.join], leave: [...update.leave] });
    return super.apply(update, now);
  }
  take(): PresenceUpdate[] {
    return this.calls.splice(0);
  }
}

async function setup(t: Test, count: number) {
  const fixture = await storeFixture(t, BUCKETS);
  const store = new RecordingStore(fixture.redis, TIMING.ttlMs * 2);
  const sessions: PresentSession[] = Array.from({ length: count }, (_, i) => {
    const exam = i % 2 === 0 ? 'EX-A' : 'EX-B';
    const student = `S${i}`;
    return { phase: 'live', exam, bucket: fixture.bucket(exam, student), student, epoch: 1, presenceHolder: '' };
  });
  const live = new Set(sessions);
  const beacon = new PresenceBeacon({ live: () => live.values() }, store, TIMING, silent, 'test');
  const connected = async (at = Date.now()) => (await fixture.store.examCounts('EX-A', at)).connected + (await fixture.store.examCounts('EX-B', at)).connected;
  return { ...fixture, store, sessions, live, beacon, connected };
}

t.test('a session is written once; after that a bucket costs one heartbeat per half ttl', async (t) => {
  const { store, beacon, connected } = await setup(t, 300);
  const now = Date.now();
  await beacon.flush(now);
  const first = store.take();
  t.equal(first.reduce((n, call) => n + call.join.length, 0), 300, 'every session joined once');
  t.ok(first.length <= 2 * BUCKETS, `one call per bucket of each exam (${first.length})`);
  t.equal(await connected(), 300);
  await beacon.flush(now + TIMING.refreshMs);
  t.same(store.take(), [], 'nothing to say a round later');
  await beacon.flush(now + TIMING.ttlMs / 2 + 1);
  const heartbeats = store.take();
  t.equal(heartbeats.length, first.length, 'one heartbeat per bucket held');
  t.ok(heartbeats.every((call) => call.join.length === 0 && call.leave.length === 0 && call.serial === 2), 'heartbeats carry no student');
  t.equal(await connected(now + TIMING.ttlMs + 2), 300, 'the heartbeat carried every student past the first expiry');
});

t.test('a closed session leaves at the next round; a stop retires every holder at once', async (t) => {
  const { sessions, live, beacon, connected } = await setup(t, 40);
  await beacon.flush();
  for (const session of sessions.slice(0, 10)) {
    live.delete(session);
    beacon.left(session);
  }
  await beacon.flush();
  t.equal(await connected(), 30);
  // A session that closes while its join is in flight leaves right after it.
  const late: PresentSession = { phase: 'live', exam: 'EX-A', bucket: sessions[0]!.bucket, student: 'LATE', epoch: 1, presenceHolder: '' };
  live.add(late);
  const round = beacon.flush();
  live.delete(late);
  beacon.left(late);
  await round;
  await beacon.flush();
  t.equal(await connected(), 30, 'the late session is not left behind as connected');
  await beacon.leaveAll();
  t.equal(await connected(), 0, 'nobody counts once the actor stopped');
});

t.test('writes Redis lost are noticed at the next heartbeat and written again', async (t) => {
  const { redis, store, beacon, connected } = await setup(t, 100);
  const now = Date.now();
  await beacon.flush(now);
  t.equal(await connected(), 100);
  // Redis restarted on an AOF without its last second: the holder records are gone.
  for (const exam of ['EX-A', 'EX-B']) for (let b = 0; b < BUCKETS; b++) await redis.del(bucketKeys.holders(exam, b));
  t.equal(await connected(), 0);
  store.take();
  await beacon.flush(now + TIMING.ttlMs / 2 + 1);
  // The resync runs as a round of its own right after.
  for (let i = 0; i < 100 && (await connected()) < 100; i++) await beacon.flush();
  t.equal(await connected(), 100, 'every student counts again');
  const calls = store.take();
  t.equal(calls.filter((call) => call.join.length > 0).reduce((n, call) => n + call.join.length, 0), 100, 'each student was written once more, under a new holder');
  t.ok(calls.filter((call) => call.join.length > 0).every((call) => call.serial === 1 && (call.retire ?? []).length === 1), 'each new holder retired the old one');
});

t.test('a call that fails is not trusted: its bucket is written whole under a new holder', async (t) => {
  const { redis, sessions, live, beacon, connected } = await setup(t, 20);
  await beacon.flush();
  for (const session of sessions.slice(0, 5)) {
    live.delete(session);
    beacon.left(session);
  }
  await redis.function('DELETE', 'untradex');
  await beacon.flush();
  await loadFunctionLibrary(redis);
  t.equal(await connected(), 20, 'the leaves did not reach Redis');
  await beacon.flush();
  t.equal(await connected(), 15, 'the failed round\'s holders were retired and the live sessions written again');
});

t.test('a session replaced by a newer one elsewhere is refused once and never written again', async (t) => {
  const { store, redis, sessions, beacon } = await setup(t, 2);
  const mine = sessions[0]!;
  const other = new PresenceStore(redis, TIMING.ttlMs * 2);
  await other.apply({ exam: mine.exam, bucket: mine.bucket, holder: 'elsewhere', serial: 1, expiresAt: Date.now() + TIMING.ttlMs, join: [{ student: mine.student, epoch: 2 }], leave: [] });
  await beacon.flush();
  t.equal(mine.presenceHolder, SUPERSEDED);
  t.equal(await redis.hget(bucketKeys.present(mine.exam, mine.bucket), mine.student), '2 elsewhere', 'the newer session keeps its entry');
  store.take();
  await beacon.flush(Date.now() + TIMING.ttlMs / 2 + 1);
  t.notOk(store.take().some((call) => call.join.some((entry) => entry.student === mine.student)), 'not sent again');
});

t.test('the timer sleeps while the actor holds no socket and Redis has been told everything', async (t) => {
  const { store, sessions, live, beacon, connected } = await setup(t, 0);
  const sockets = new SlotTable<object>();
  const sleepy = new PresenceBeacon({ live: () => live.values() }, store, TIMING, silent, 'sleepy', sockets);
  t.teardown(() => sleepy.stop());
  t.equal(sessions.length, 0);
  sleepy.start();
  t.notOk(sleepy.ticking, 'nobody connected: no timer at all');
  const socket = sockets.add({});
  t.ok(sleepy.ticking, 'the first socket wakes it');
  const session: PresentSession = { phase: 'live', exam: 'EX-A', bucket: 0, student: 'S0', epoch: 1, presenceHolder: '' };
  live.add(session);
  await sleepy.flush();
  t.equal(await connected(), 1, 'the session was written');
  t.ok(sleepy.ticking, 'a held socket keeps it ticking (its heartbeat is due later)');
  sockets.remove(socket.slot, socket.generation);
  live.delete(session);
  sleepy.left(session);
  await sleepy.flush();
  t.equal(await connected(), 0, 'the leave reached Redis');
  t.ok(sleepy.ticking, 'not asleep while a holder is still known');
  await sleepy.flush();
  t.notOk(sleepy.ticking, 'asleep once nothing is held and nothing is owed');
  sockets.add({});
  t.ok(sleepy.ticking, 'a new socket wakes it again');
  beacon.stop();
});
