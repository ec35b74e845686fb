// Backpressure is a return value: an empty ring reads nothing, a full ring refuses with
// null/false until the consumer releases, and only impossible sizes throw.

import t from 'tap';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';

t.test('an empty ring reads nothing', async (t) => {
  const sab = createRing(4096);
  const consumer = new RingConsumer(sab);
  let visits = 0;
  t.equal(consumer.read(() => visits++, 100), 0);
  t.equal(visits, 0);
  t.equal(consumer.hasUnread(), false);
  t.equal(consumer.usedBytes(), 0);
  t.equal(new RingProducer(sab).freeBytes(), 4096);
});

t.test('a full ring refuses without throwing, and takes records again after release', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  const record = new Uint8Array(24).fill(7); // one 32-byte frame
  let pushed = 0;
  while (producer.tryPush(record)) pushed++;
  t.equal(pushed, 4096 / 32, 'the ring holds exactly capacity / frame records');
  t.equal(producer.freeBytes(), 0);
  t.equal(producer.tryReserve(1), null);
  t.equal(producer.tryPush(record), false);
  t.equal(consumer.usedBytes(), 4096);

  t.equal(consumer.read(() => {}, 3), 3);
  t.equal(producer.tryPush(record), false, 'reading alone frees nothing');
  consumer.release(consumer.position());
  t.equal(producer.freeBytes(), 96);
  t.equal(producer.tryPush(record), true);
  t.equal(producer.tryPush(record), true);
  t.equal(producer.tryPush(record), true);
  t.equal(producer.tryPush(record), false);

  let read = 0;
  while (consumer.read(() => read++, 1000) > 0);
  t.equal(read, pushed - 3 + 3);
  consumer.release(consumer.position());
  t.equal(consumer.usedBytes(), 0);
  t.equal(producer.freeBytes(), 4096);
});

t.test('a record of maxRecordBytes fits an empty ring at every write offset', async (t) => {
  let refused = 0;
  for (let offset = 0; offset < 4096; offset += 8) {
    const sab = createRing(4096, { startIndex: offset });
    const producer = new RingProducer(sab);
    const consumer = new RingConsumer(sab);
    const target = producer.tryReserve(producer.maxRecordBytes);
    if (target === null) {
      refused++;
      continue;
    }
    target.fill(0xee);
    producer.publish();
    const lengths: number[] = [];
    consumer.read((record) => lengths.push(record.length), 10);
    if (lengths.length !== 1 || lengths[0] !== producer.maxRecordBytes) refused++;
  }
  t.equal(refused, 0);
});

t.test('impossible sizes throw UX_ERR_RING_RECORD', async (t) => {
  const producer = new RingProducer(createRing(4096));
  for (const length of [0, -1, 1.5, NaN, producer.maxRecordBytes + 1, 4096]) {
    t.throws(() => producer.tryReserve(length), { code: 'UX_ERR_RING_RECORD' }, `tryReserve(${length})`);
  }
  t.throws(() => producer.tryPush(new Uint8Array(0)), { code: 'UX_ERR_RING_RECORD' });
  t.not(producer.tryReserve(producer.maxRecordBytes), null);
});

t.test('release refuses a position outside what was read', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  producer.tryPush(new Uint8Array(10));
  producer.tryPush(new Uint8Array(10));
  consumer.read(() => {}, 1);
  const afterOne = consumer.position();
  t.throws(() => consumer.release(afterOne + 24), { code: 'UX_ERR_RING_RECORD' }, 'beyond the cursor');
  consumer.release(afterOne);
  t.throws(() => consumer.release(afterOne - 24), { code: 'UX_ERR_RING_RECORD' }, 'behind the read index');
  t.throws(() => consumer.release(0.5), { code: 'UX_ERR_RING_RECORD' });
});
