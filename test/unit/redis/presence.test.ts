// The presence behind `connected`: ux_presence writes a session's entry once and a holder's
// heartbeat per call, ux_counts counts the entries of live holders, a leave or a stale join never
// takes a newer session's place, a serial gap asks for a resync, and dead holders and idle keys go.
import t from 'tap';
import { bucketKeys } from '../../../src/redis/bucket-keys.js';
import { PresenceStore, type PresenceUpdate } from '../../../src/redis/presence-store.js';
import { storeFixture } from './store-fixture.js';

const NOW = 1_800_000_000_000;
const TTL = 10_000;

function update(exam: string, bucket: number, holder: string, serial: number, fields: Partial<PresenceUpdate> = {}): PresenceUpdate {
  return { exam, bucket, holder, serial, expiresAt: NOW + TTL, join: [], leave: [], ...fields };
}

t.test('joins count while their holder is alive; leaves remove them; a heartbeat keeps them', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, 4);
  const presence = new PresenceStore(redis, 60_000);
  const students = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'];
  const byBucket = new Map<number, string[]>();
  for (const student of students) byBucket.set(bucket('PR', student), [...(byBucket.get(bucket('PR', student)) ?? []), student]);
  for (const [b, members] of byBucket) {
    t.same(await presence.apply(update('PR', b, 'A', 1, { join: members.map((student) => ({ student, epoch: 1 })) }), NOW), { resync: false, refused: [] });
  }
  t.equal((await store.examCounts('PR', NOW)).connected, 6);
  t.equal((await store.examCounts('PR', NOW + TTL - 1)).connected, 6, 'still connected just before the heartbeat runs out');
  t.equal((await store.examCounts('PR', NOW + TTL)).connected, 0, 'a holder that stopped refreshing no longer counts its students');
  const b1 = bucket('PR', 'P1');
  // A heartbeat alone (no join, no leave) moves the holder's expiry, and with it every student's.
  await presence.apply(update('PR', b1, 'A', 2, { expiresAt: NOW + 2 * TTL }), NOW + TTL / 2);
  t.equal((await store.examCounts('PR', NOW + TTL)).connected, byBucket.get(b1)!.length, 'the heartbeat kept the holder of that bucket alive');
  await presence.apply(update('PR', b1, 'A', 3, { expiresAt: NOW + 2 * TTL, leave: [{ student: 'P1', epoch: 1 }] }), NOW + TTL / 2);
  t.equal((await store.examCounts('PR', NOW)).connected, 5, 'a leave removes its entry');
  t.equal(await redis.hexists(bucketKeys.present('PR', b1), 'P1'), 0);
  for (const key of [bucketKeys.present('PR', b1), bucketKeys.holders('PR', b1)]) t.ok((await redis.pttl(key)) > 0, `${key} never lives for good`);
});

t.test('a heartbeat writes one holder record, not one entry per student', async (t) => {
  const { redis } = await storeFixture(t, 1);
  const presence = new PresenceStore(redis, 60_000);
  const join = Array.from({ length: 500 }, (_, i) => ({ student: `S${i}`, epoch: 1 }));
  await presence.apply(update('HB', 0, 'A', 1, { join }), NOW);
  await redis.config('RESETSTAT');
  await presence.apply(update('HB', 0, 'A', 2, { expiresAt: NOW + 2 * TTL }), NOW + TTL / 2);
  const stats = await redis.info('commandstats');
  const calls = (name: string) => Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  t.equal(calls('hset'), 1, 'one HSET: the holder record');
  t.equal(calls('hdel'), 0);
  t.equal(calls('pexpire'), 0, 'the keys\' expiry is pushed only once half of it is gone');
});

t.test('a session never loses its entry to an older session or to another holder\'s leave', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, 4);
  const presence = new PresenceStore(redis, 60_000);
  const b = bucket('PR', 'S1');
  await presence.apply(update('PR', b, 'A', 1, { join: [{ student: 'S1', epoch: 1 }] }), NOW);
  // The student reconnected through actor B (epoch 2) before actor A noticed its socket was gone.
  await presence.apply(update('PR', b, 'B', 1, { join: [{ student: 'S1', epoch: 2 }] }), NOW);
  t.same(await redis.hget(bucketKeys.present('PR', b), 'S1'), '2 B');
  t.same(await redis.hgetall(bucketKeys.holders('PR', b)), { A: `${NOW + TTL} 1 0`, B: `${NOW + TTL} 1 1` }, 'the student moved from A\'s count to B\'s');
  t.equal((await store.examCounts('PR', NOW)).connected, 1, 'counted once');
  await presence.apply(update('PR', b, 'A', 2, { leave: [{ student: 'S1', epoch: 1 }] }), NOW);
  t.equal((await store.examCounts('PR', NOW)).connected, 1, 'the old session leaving does not make the student absent');
  // A late write of the old session (a resync of A) is refused, and says so.
  t.same(await presence.apply(update('PR', b, 'A', 3, { join: [{ student: 'S1', epoch: 1 }, { student: 'S2', epoch: 1 }] }), NOW), { resync: false, refused: [0] });
  t.same(await redis.hget(bucketKeys.present('PR', b), 'S1'), '2 B');
  t.equal((await store.examCounts('PR', NOW)).connected, 2);
  // One actor, two sessions of one student in turn: the leave of the first and the join of the second in one call.
  await presence.apply(update('PR', b, 'B', 2, { join: [{ student: 'S1', epoch: 3 }], leave: [{ student: 'S1', epoch: 2 }] }), NOW);
  t.same(await redis.hget(bucketKeys.present('PR', b), 'S1'), '3 B');
  t.equal((await store.examCounts('PR', NOW)).connected, 2);
});

t.test('a gap in a holder\'s serials asks for a resync; retiring a holder ends its count at once', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, 1);
  const presence = new PresenceStore(redis, 60_000);
  const b = bucket('RS', 'S1');
  t.same(await presence.apply(update('RS', b, 'A', 1, { join: [{ student: 'S1', epoch: 1 }] }), NOW), { resync: false, refused: [] });
  t.same(await presence.apply(update('RS', b, 'A', 3, { join: [{ student: 'S2', epoch: 1 }] }), NOW), { resync: true, refused: [] }, 'call 2 never reached Redis');
  t.same(await presence.apply(update('RS', b, 'NEW', 2), NOW), { resync: true, refused: [] }, 'a holder Redis never saw, past its first call');
  // Redis lost the holders of the bucket (an AOF that lost its last second): the next call notices.
  await redis.del(bucketKeys.holders('RS', b));
  t.same((await presence.apply(update('RS', b, 'A', 4), NOW)).resync, true);
  // The actor's answer: a new holder writes everything again and retires the old one.
  await presence.apply(update('RS', b, 'A2', 1, { retire: ['A', 'NEW'], join: [{ student: 'S1', epoch: 1 }, { student: 'S2', epoch: 1 }] }), NOW);
  t.same(Object.keys(await redis.hgetall(bucketKeys.holders('RS', b))), ['A2']);
  t.equal((await store.examCounts('RS', NOW)).connected, 2);
  // At a stop the holder retires itself: its students stop counting now, not when its heartbeat runs out.
  await presence.apply(update('RS', b, 'A2', 2, { retire: ['A2'] }), NOW);
  t.equal((await store.examCounts('RS', NOW)).connected, 0);
});

t.test('dead holders are dropped at the next call, and the keys expire when nobody calls', async (t) => {
  const { redis, bucket } = await storeFixture(t, 1);
  const presence = new PresenceStore(redis, 300);
  const b = bucket('PR', 'A');
  const now = Date.now();
  await presence.apply(update('PR', b, 'DEAD', 1, { expiresAt: now + 100, join: [{ student: 'A', epoch: 1 }] }), now);
  await presence.apply(update('PR', b, 'LIVE', 1, { expiresAt: now + 10_000, join: [{ student: 'B', epoch: 1 }] }), now);
  await presence.apply(update('PR', b, 'LIVE', 2, { expiresAt: now + 10_000 }), now + 401);
  t.same(Object.keys(await redis.hgetall(bucketKeys.holders('PR', b))), ['LIVE'], 'DEAD was dead for longer than keepMs');
  const keys = [bucketKeys.present('PR', b), bucketKeys.holders('PR', b)];
  for (let i = 0; i < 100 && (await redis.exists(...keys)) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(await redis.exists(...keys), 0, 'both keys went once nobody called');
});

t.test('malformed presence calls are refused and change nothing', async (t) => {
  const { redis } = await storeFixture(t, 1);
  const keys = [bucketKeys.present('PR', 0), bucketKeys.holders('PR', 0)];
  const head = (n: string) => [String(NOW), '1000', 'H', '1', String(NOW + TTL), '', n];
  for (const args of [
    ['x', '1000', 'H', '1', String(NOW), '', '0'],
    [String(NOW), '1000', 'bad holder!', '1', String(NOW), '', '0'],
    [String(NOW), '1000', 'H', '0', String(NOW), '', '0'],
    [String(NOW), '1000', 'H', '1', String(NOW), 'ok,bad one', '0'],
    [String(NOW), '1000', 'H', '1', String(NOW), 'ok,', '0'],
    [...head('1'), 'bad id!', '5'],
    [...head('1'), 'S1'],
    [...head('2'), 'S1', '1'],
    [...head('1'), 'S1', '0'],
  ]) {
    await t.rejects(redis.fcall('ux_presence', 2, ...keys, ...args), /UXBAD/, JSON.stringify(args));
  }
  t.equal(await redis.exists(...keys), 0);
  await redis.hset(keys[1]!, 'H', 'garbage');
  await t.rejects(redis.fcall('ux_presence', 2, ...keys, ...head('0')), /UXCORRUPT holder H/, 'a corrupt holder record is named, not overwritten');
  t.equal(await redis.hget(keys[1]!, 'H'), 'garbage');
});
