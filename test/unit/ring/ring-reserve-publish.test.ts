// Reserved records stay invisible until publish(), and one publish() reveals a whole batch.

import t from 'tap';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';

t.test('reserve without publish is invisible to the consumer', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  const target = producer.tryReserve(5);
  if (target === null) throw new Error('an empty ring refused 5 bytes');
  t.equal(target.length, 5);
  target.set([1, 2, 3, 4, 5]);
  t.equal(consumer.hasUnread(), false);
  t.equal(consumer.read(() => t.fail('visited an unpublished record'), 10), 0);
  t.equal(consumer.usedBytes(), 0);
  t.equal(producer.freeBytes(), 4096 - 16, 'the reservation counts against the producer');

  producer.publish();
  t.equal(consumer.hasUnread(), true);
  const seen: number[][] = [];
  t.equal(consumer.read((record) => seen.push([...record]), 10), 1);
  t.same(seen, [[1, 2, 3, 4, 5]]);
});

t.test('several reserves are revealed together by one publish, in order', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  for (let i = 1; i <= 10; i++) {
    const target = producer.tryReserve(i);
    if (target === null) throw new Error('an empty ring refused a small record');
    target.fill(i);
    t.equal(consumer.read(() => {}, 100), 0, `record ${i} is invisible before publish`);
  }
  producer.publish();
  producer.publish(); // a second publish with nothing new changes nothing
  const seen: number[][] = [];
  t.equal(consumer.read((record) => seen.push([...record]), 100), 10);
  t.same(seen, Array.from({ length: 10 }, (_, i) => new Array<number>(i + 1).fill(i + 1)));
});

t.test('a reservation a dead producer never published is overwritten by its successor', async (t) => {
  const sab = createRing(4096);
  const dead = new RingProducer(sab);
  dead.tryReserve(100)?.fill(0xdd);
  const successor = new RingProducer(sab);
  t.equal(successor.freeBytes(), 4096);
  t.equal(successor.tryPush(new Uint8Array([42])), true);
  const seen: number[][] = [];
  new RingConsumer(sab).read((record) => seen.push([...record]), 10);
  t.same(seen, [[42]]);
});

t.test('the reserved view is exactly the record and lies inside the ring buffer', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const target = producer.tryReserve(13);
  if (target === null) throw new Error('an empty ring refused 13 bytes');
  t.equal(target.buffer, sab);
  t.equal(target.length, 13);
  t.equal(target.byteOffset % 8, 0, 'records start 8-aligned');
});
