// The presence sets behind `connected`: ux_presence writes them in batches per bucket, ux_counts
// counts the entries not expired, a leave removes only the entry its writer wrote, and expired
// entries and idle keys go away by themselves.
import t from 'tap';
import { bucketKeys } from '../../../src/redis/bucket-keys.js';
import { PresenceStore } from '../../../src/redis/presence-store.js';
import { storeFixture } from './store-fixture.js';

const NOW = 1_800_000_000_000;
const TTL = 10_000;

t.test('joins count as connected until they expire; leaves remove them', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, 4);
  const presence = new PresenceStore(redis, 60_000);
  const students = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'];
  const byBucket = new Map<number, string[]>();
  for (const student of students) byBucket.set(bucket('PR', student), [...(byBucket.get(bucket('PR', student)) ?? []), student]);
  await Promise.all(
    [...byBucket].map(([b, members]) => presence.apply({ exam: 'PR', bucket: b, join: members.map((student) => ({ student, expiresAt: NOW + TTL })), leave: [] }, NOW)),
  );
  t.equal((await store.examCounts('PR', NOW)).connected, 6);
  t.equal((await store.examCounts('PR', NOW + TTL - 1)).connected, 6, 'still connected just before the expiry');
  t.equal((await store.examCounts('PR', NOW + TTL)).connected, 0, 'an entry not refreshed in time no longer counts');
  const b1 = bucket('PR', 'P1');
  await presence.apply({ exam: 'PR', bucket: b1, join: [], leave: [{ student: 'P1', expiresAt: NOW + TTL }] }, NOW);
  t.equal((await store.examCounts('PR', NOW)).connected, 5, 'a leave removes its entry');
  t.ok((await redis.pttl(bucketKeys.presence('PR', b1))) > 0 || (await redis.exists(bucketKeys.presence('PR', b1))) === 0, 'a presence key never lives for good');
});

t.test('a leave removes only the entry its writer wrote: a newer session elsewhere stays', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, 4);
  const presence = new PresenceStore(redis, 60_000);
  const b = bucket('PR', 'S1');
  await presence.apply({ exam: 'PR', bucket: b, join: [{ student: 'S1', expiresAt: NOW + TTL }], leave: [] }, NOW);
  // The student reconnected through another actor, which wrote its own entry before the old one left.
  await presence.apply({ exam: 'PR', bucket: b, join: [{ student: 'S1', expiresAt: NOW + 500 + TTL }], leave: [] }, NOW + 500);
  await presence.apply({ exam: 'PR', bucket: b, join: [], leave: [{ student: 'S1', expiresAt: NOW + TTL }] }, NOW + 600);
  t.equal((await store.examCounts('PR', NOW + 600)).connected, 1, 'the old session leaving does not make the student absent');
  // Leave and join in one call (the same actor): leaves go first.
  await presence.apply({ exam: 'PR', bucket: b, join: [{ student: 'S1', expiresAt: NOW + 900 + TTL }], leave: [{ student: 'S1', expiresAt: NOW + 500 + TTL }] }, NOW + 900);
  t.equal(await redis.zscore(bucketKeys.presence('PR', b), 'S1'), String(NOW + 900 + TTL));
});

t.test('expired entries are dropped at the next write, and the key expires when nobody writes', async (t) => {
  const { redis, bucket } = await storeFixture(t, 1);
  const presence = new PresenceStore(redis, 300);
  const b = bucket('PR', 'A');
  const now = Date.now();
  await presence.apply({ exam: 'PR', bucket: b, join: [{ student: 'A', expiresAt: now + 100 }, { student: 'B', expiresAt: now + 10_000 }], leave: [] }, now);
  await presence.apply({ exam: 'PR', bucket: b, join: [], leave: [] }, now + 200);
  t.same(await redis.zrange(bucketKeys.presence('PR', b), '0', '-1'), ['B'], 'A expired and was dropped');
  for (let i = 0; i < 100 && (await redis.exists(bucketKeys.presence('PR', b))) === 1; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(await redis.exists(bucketKeys.presence('PR', b)), 0, 'the key went once nobody refreshed it');
});

t.test('malformed presence calls are refused and change nothing', async (t) => {
  const { redis } = await storeFixture(t, 1);
  const key = bucketKeys.presence('PR', 0);
  for (const args of [
    ['x', '1000', '0'],
    [String(NOW), '1000', '1', 'bad id!', '5'],
    [String(NOW), '1000', '1', 'S1'],
    [String(NOW), '1000', '2', 'S1', String(NOW + 1)],
  ]) {
    await t.rejects(redis.fcall('ux_presence', 1, key, ...args), /UXBAD/, JSON.stringify(args));
  }
  t.equal(await redis.exists(key), 0);
});
