// The static sizing function and header checks: capacities round up to a power of two >= 4096,
// silly sizes and foreign buffers are refused with UX_ERR_RING_RECORD.

import t from 'tap';
import { createRing, ringByteLength, HEADER_BYTES, MIN_CAPACITY_BYTES } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';

t.test('capacity rounds up to a power of two of at least 4096', async (t) => {
  t.equal(ringByteLength(1), HEADER_BYTES + MIN_CAPACITY_BYTES);
  t.equal(ringByteLength(4096), HEADER_BYTES + 4096);
  t.equal(ringByteLength(4097), HEADER_BYTES + 8192);
  t.equal(ringByteLength(65536), HEADER_BYTES + 65536);
  t.equal(ringByteLength(100_000), HEADER_BYTES + 131072);
  const sab = createRing(5000);
  t.equal(sab.byteLength, ringByteLength(5000));
  t.equal(new RingProducer(sab).capacityBytes, 8192);
  t.equal(new RingConsumer(sab).capacityBytes, 8192);
});

t.test('the largest record is half the capacity less the frame header', async (t) => {
  t.equal(new RingProducer(createRing(4096)).maxRecordBytes, 2040);
  t.equal(new RingProducer(createRing(65536)).maxRecordBytes, 32760);
});

t.test('silly sizes are refused', async (t) => {
  for (const size of [0, -1, 1.5, NaN, Infinity, 2 ** 30 + 1, 2 ** 40]) {
    t.throws(() => createRing(size), { code: 'UX_ERR_RING_RECORD' }, `createRing(${size})`);
    t.throws(() => ringByteLength(size), { code: 'UX_ERR_RING_RECORD' }, `ringByteLength(${size})`);
  }
  for (const startIndex of [-8, 3, 2 ** 32, 1.5]) {
    t.throws(() => createRing(4096, { startIndex }), { code: 'UX_ERR_RING_RECORD' }, `startIndex ${startIndex}`);
  }
});

t.test('a buffer that createRing did not make is refused by both sides', async (t) => {
  const foreign = [
    new SharedArrayBuffer(HEADER_BYTES + 4096),
    new SharedArrayBuffer(16),
    createRing(4096).slice(0, HEADER_BYTES + 2048),
  ];
  for (const sab of foreign) {
    t.throws(() => new RingProducer(sab), { code: 'UX_ERR_RING_RECORD' });
    t.throws(() => new RingConsumer(sab), { code: 'UX_ERR_RING_RECORD' });
  }
  const notShared = new ArrayBuffer(HEADER_BYTES + 4096) as unknown as SharedArrayBuffer;
  t.throws(() => new RingProducer(notShared), { code: 'UX_ERR_RING_RECORD' });
});
