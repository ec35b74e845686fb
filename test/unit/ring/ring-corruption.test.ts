// A frame header that fails its check word (memory stomped by a bug) is reported as
// UX_ERR_RING_RECORD instead of handing garbage on as a record.

import t from 'tap';
import { createRing, HEADER_BYTES } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';

function ringWithTwoRecords(): { sab: SharedArrayBuffer; words: Uint32Array } {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  producer.tryPush(new Uint8Array(10).fill(1));
  producer.tryPush(new Uint8Array(10).fill(2));
  return { sab, words: new Uint32Array(sab) };
}

t.test('a stomped length is caught by the check word', async (t) => {
  const { sab, words } = ringWithTwoRecords();
  words[(HEADER_BYTES + 24) / 4] = 11; // second frame: length 10 -> 11, check word unchanged
  const consumer = new RingConsumer(sab);
  const seen: number[] = [];
  t.throws(() => consumer.read((record) => seen.push(record[0]!), 10), { code: 'UX_ERR_RING_RECORD' });
  t.same(seen, [1], 'the good record before it was delivered');
});

t.test('a consistent header that runs past the write index is caught', async (t) => {
  const { sab, words } = ringWithTwoRecords();
  words[(HEADER_BYTES + 24) / 4] = 100;
  words[(HEADER_BYTES + 24) / 4 + 1] = ~100 >>> 0;
  t.throws(() => new RingConsumer(sab).read(() => {}, 10), { code: 'UX_ERR_RING_RECORD' });
});

t.test('a zeroed header is not mistaken for padding', async (t) => {
  const { sab, words } = ringWithTwoRecords();
  words[HEADER_BYTES / 4] = 0;
  words[HEADER_BYTES / 4 + 1] = 0;
  t.throws(() => new RingConsumer(sab).read(() => t.fail('visited garbage'), 10), { code: 'UX_ERR_RING_RECORD' });
});

t.test('a pad that is not followed by a published record is caught', async (t) => {
  const { sab, words } = ringWithTwoRecords();
  words[(HEADER_BYTES + 24) / 4] = 0;
  words[(HEADER_BYTES + 24) / 4 + 1] = 0xffffffff;
  const consumer = new RingConsumer(sab);
  t.throws(() => consumer.read(() => {}, 10), { code: 'UX_ERR_RING_RECORD' });
});
