// Fault 4: Redis dies under student load (SIGKILL, appendfsync always). Writers stop acking, their
// batches wait in ioredis's offline queue, the rings fill and sockets are paused; Redis comes back
// from its AOF (restarted by the root supervisor when embedded, by the test when external), the
// writers' in-flight commands are resent, and every acked event is stored exactly once.

import { performance } from 'node:perf_hooks';
import t from 'tap';
import { startTestRedis } from '../helpers/redis-server.js';
import { startUntradexInProcess, type InProcessUntradex } from '../helpers/untradex.js';
import { backpressure, sampleBackpressure } from './support/backpressure-sampler.js';
import { StudentLoad } from './support/student-load.js';
import { assertRedisHoldsLoad, recordFault } from './support/tally.js';
import { pollUntil, waitFor } from '../helpers/poll.js';

const BUCKETS = 16;
const STUDENTS = 40;
// Small rings, so an outage of a fraction of a second fills them and backpressure shows.
const GATEWAY = { connectionActors: 2, ringBytes: 8192, ackRingBytes: 8192 };
// The first two cases are about the rings: the connection actors' own writes off, every event goes through them.
const THROUGH_WRITERS = { count: 2, directInFlight: 0 };

/** How long after `downAt` the first event written after it was acked: the outage students saw. */
function firstAckAfter(load: StudentLoad, downAt: number): number {
  let first = Infinity;
  for (const student of load.students) {
    for (const event of student.settled) if (event.firstSentAt !== null && event.firstSentAt > downAt && event.settledAt !== null) first = Math.min(first, event.settledAt);
  }
  return Math.round(first - downAt);
}

/** Events first written to a socket after `downAt` and settled before `upAt`: acks Redis cannot have given. */
function ackedWhileDown(load: StudentLoad, downAt: number, upAt: number): number {
  let count = 0;
  for (const student of load.students) {
    for (const event of student.settled) if (event.firstSentAt !== null && event.firstSentAt > downAt && event.settledAt !== null && event.settledAt < upAt) count += 1;
  }
  return count;
}

async function redisRestarts(ux: InProcessUntradex): Promise<number | undefined> {
  const status = await ux.api<{ actors: Array<{ id: string; restarts: number }> }>('GET', '/api/status');
  return status.body.actors.find((actor) => actor.id === 'redis-server')?.restarts;
}

t.test('embedded redis-server killed with SIGKILL: the root supervisor restarts it from its AOF', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: BUCKETS, appendfsync: 'always' }, gateway: GATEWAY, writers: THROUGH_WRITERS });
  const load = await StudentLoad.start(t, ux, { exam: 'RK-EMB', students: STUDENTS, answersEach: 100, pauseMs: 15 });
  await load.ackedAtLeast(300);

  const server = ux.app.root.embeddedRedis!;
  const firstPid = server.pid;
  const sampler = sampleBackpressure(ux);
  const died = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  server.kill('SIGKILL');
  await died;
  const downAt = performance.now();
  const ackedAtDeath = load.ackedTotal;
  await waitFor('redis-server restarted', () => {
    const current = ux.app.root.embeddedRedis;
    return current !== null && current.pid !== undefined && current.pid !== firstPid;
  }, { intervalMs: 5 });
  const upAt = performance.now();
  await load.flushed();
  const peak = await sampler.stop();

  t.equal(await redisRestarts(ux), 1, 'the root supervisor restarted redis-server once');
  t.equal(load.students.reduce((total, student) => total + student.disconnects, 0), 0, 'no student lost its socket: they were paused, not dropped');
  const tally = await assertRedisHoldsLoad(t, ux.redis(), load, BUCKETS, 'Redis after its restart');
  recordFault(
    'Redis killed (embedded)',
    `kill -9 of the embedded redis-server under load (appendfsync always); ${STUDENTS} students, 2 writers, 8 KiB rings`,
    tally,
    `Redis; restarted by the root supervisor from its AOF (seen ${Math.round(upAt - downAt)} ms after the kill); ${ackedAtDeath} acked before the kill; ` +
      `first ack of a later event ${firstAckAfter(load, downAt)} ms after it; at most ${peak.blocked} sockets paused, ${peak.ringUsedBytes} ring bytes waiting`,
  );
  await ux.app.stop();
});

t.test('external Redis killed with SIGKILL: Untradex waits until it is back', async (t) => {
  const redis = await startTestRedis(t, { appendfsync: 'always' });
  const ux = await startUntradexInProcess(t, { redis: { embedded: false, url: redis.url, buckets: BUCKETS }, gateway: GATEWAY, writers: THROUGH_WRITERS });
  const load = await StudentLoad.start(t, ux, { exam: 'RK-EXT', students: STUDENTS, answersEach: 100, pauseMs: 15 });
  await load.ackedAtLeast(300);

  const died = new Promise<void>((resolve) => redis.server.once('exit', () => resolve()));
  redis.server.kill('SIGKILL');
  await died;
  const downAt = performance.now();
  const ackedAtDeath = load.ackedTotal;
  // Redis stays down until the rings are full and sockets are paused: backpressure, not loss.
  const whileDown = await pollUntil('sockets paused behind full rings', () => backpressure(ux), (sample) => sample.blocked > 0, { intervalMs: 5 });
  t.ok(whileDown.blocked > 0 && whileDown.ringUsedBytes > 0, `with Redis down, ${whileDown.blocked} sockets are paused and ${whileDown.ringUsedBytes} ring bytes wait`);
  const upAt = performance.now();
  t.equal(ackedWhileDown(load, downAt, upAt), 0, 'no event sent after Redis died was acked while it was down');

  await redis.server.start(); // same port, same dataDir: it loads its AOF
  await load.flushed();
  t.equal(ux.app.root.allActorsRunning(), true, 'no actor crashed or restarted');
  t.equal(load.students.reduce((total, student) => total + student.disconnects, 0), 0, 'no student lost its socket');
  const tally = await assertRedisHoldsLoad(t, redis.client(), load, BUCKETS, 'Redis after its restart');
  recordFault(
    'Redis killed (external)',
    `kill -9 of an external Redis (redis.url, appendfsync always) under load, restarted by the test on the same port and dataDir; ${STUDENTS} students`,
    tally,
    `Redis; down ${Math.round(upAt - downAt)} ms, until ${whileDown.blocked} sockets were paused behind full rings; ${ackedAtDeath} acked before the kill, 0 acked while down; ` +
      `first ack of a later event ${firstAckAfter(load, downAt)} ms after the kill`,
  );
  await ux.app.stop();
});

t.test('external Redis killed while the connection actors write events themselves (writers.directInFlight)', async (t) => {
  const redis = await startTestRedis(t, { appendfsync: 'always' });
  const ux = await startUntradexInProcess(t, { redis: { embedded: false, url: redis.url, buckets: BUCKETS }, gateway: GATEWAY, writers: { count: 2, directInFlight: 16 } });
  const load = await StudentLoad.start(t, ux, { exam: 'RK-DIRECT', students: STUDENTS, answersEach: 100, pauseMs: 15 });
  await load.ackedAtLeast(300);
  const before = await ux.api<{ events: { direct: number } }>('GET', '/api/status');
  t.ok(before.body.events.direct > 0, `the actors wrote ${before.body.events.direct} events themselves before the kill`);

  const died = new Promise<void>((resolve) => redis.server.once('exit', () => resolve()));
  redis.server.kill('SIGKILL');
  await died;
  const downAt = performance.now();
  // The actors' own calls wait for Redis like the writers' batches: their students pause at the limit, the others behind full rings.
  const whileDown = await pollUntil('sockets paused', () => backpressure(ux), (sample) => sample.blocked > 0, { intervalMs: 5 });
  const upAt = performance.now();
  t.equal(ackedWhileDown(load, downAt, upAt), 0, 'no event sent after Redis died was acked while it was down');

  await redis.server.start();
  await load.flushed();
  t.equal(ux.app.root.allActorsRunning(), true, 'no actor crashed or restarted');
  t.equal(load.students.reduce((total, student) => total + student.disconnects, 0), 0, 'no student lost its socket');
  const tally = await assertRedisHoldsLoad(t, redis.client(), load, BUCKETS, 'Redis after its restart');
  const after = await ux.api<{ events: { direct: number } }>('GET', '/api/status');
  recordFault(
    'Redis killed (external, actors\' own writes on)',
    `kill -9 of an external Redis under load with writers.directInFlight 16, restarted by the test on the same port and dataDir; ${STUDENTS} students`,
    tally,
    `Redis; down ${Math.round(upAt - downAt)} ms, until ${whileDown.blocked} sockets were paused; ${after.body.events.direct} events written by the actors themselves in all; ` +
      `first ack of a later event ${firstAckAfter(load, downAt)} ms after the kill`,
  );
  await ux.app.stop();
});
