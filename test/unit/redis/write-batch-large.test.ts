// One FCALL carries 1,000 events; many batches in flight on one connection all land correctly.
import t from 'tap';
import { WriteOutcome } from '../../../src/events/answer-event.js';
import { bucketKeys } from '../../../src/redis/bucket-keys.js';
import type { EventToWrite } from '../../../src/redis/bucket-store.js';
import { answer, ev, storeFixture } from './store-fixture.js';

t.test('a batch of 1,000 events in one call', async (t) => {
  const { store, redis } = await storeFixture(t, 1);
  const events: EventToWrite[] = [];
  for (let i = 0; i < 1000; i++) {
    const student = `S${i % 50}`;
    const seq = Math.floor(i / 50) + 1;
    events.push(seq === 1 ? ev(student, 1, seq, 'open') : answer(student, 1, seq, `Q${seq % 7}`, `v${i}`));
  }
  const outcomes = await store.writeBatch('E1', 0, events);
  t.equal(outcomes.length, 1000);
  t.ok(outcomes.every((o) => o === WriteOutcome.Stored), 'all stored');
  t.equal(await redis.xlen(bucketKeys.log('E1', 0)), 1000);
  t.same(await store.examCounts('E1'), { students: 50, events: 1000, closedBuckets: 0, submitted: 0, connected: 0 });
  const again = await store.writeBatch('E1', 0, events);
  t.ok(again.every((o) => o === WriteOutcome.Duplicate), 'all duplicates on resend');
  t.equal(await redis.xlen(bucketKeys.log('E1', 0)), 1000);
});

t.test('concurrent batches on one connection (pipelined) each get their own outcomes', async (t) => {
  const buckets = 8;
  const { store, bucket } = await storeFixture(t, buckets);
  const byBucket = new Map<number, EventToWrite[]>();
  for (let s = 0; s < 200; s++) {
    const student = `S${s}`;
    const list = byBucket.get(bucket('E1', student)) ?? [];
    for (let seq = 1; seq <= 5; seq++) list.push(answer(student, 1, seq, 'Q1', `${student}-${seq}`));
    byBucket.set(bucket('E1', student), list);
  }
  // Each bucket's batch is sent twice at once: the first copy to arrive stores, the other dedupes.
  const calls = [...byBucket].flatMap(([b, list]) => [store.writeBatch('E1', b, list), store.writeBatch('E1', b, list)]);
  const results = await Promise.all(calls);
  for (let i = 0; i < results.length; i += 2) {
    const [a, b] = [results[i] ?? [], results[i + 1] ?? []];
    t.ok(a.every((o) => o === WriteOutcome.Stored) && b.every((o) => o === WriteOutcome.Duplicate), `pair ${i / 2}`);
  }
  t.same(await store.examCounts('E1'), { students: 200, events: 1000, closedBuckets: 0, submitted: 0, connected: 0 });
});
