// Hundreds of wrap-arounds in one thread: variable-length records, padding at the end of the
// data area, random batches and release lags; every byte of every record is checked.

import t from 'tap';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';
import { checkRecord, fillRecord, recordSize, seededRandom } from '../../fixtures/ring-records.js';

const SEED = 0x2b1f;

t.test('records survive hundreds of wraps unchanged and in order', async (t) => {
  const capacity = 4096;
  const sab = createRing(capacity);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  const random = seededRandom(SEED);
  const total = 200_000;
  const size = (k: number): number => recordSize(SEED, k, 120, producer.maxRecordBytes, 50);

  let pushed = 0;
  let next = 0;
  let bytesPushed = 0;
  let pads = 0;
  const errors: string[] = [];
  const visit = (record: Uint8Array): void => {
    const problem = checkRecord(record, next, size(next));
    if (problem !== null && errors.length < 5) errors.push(problem);
    next++;
  };
  while (next < total) {
    const batch = 1 + (random() % 8);
    for (let i = 0; i < batch && pushed < total; i++) {
      const before = producer.freeBytes();
      const target = producer.tryReserve(size(pushed));
      if (target === null) break;
      const frame = before - producer.freeBytes();
      if (frame > ((size(pushed) + 8 + 7) & ~7)) pads++;
      fillRecord(target, pushed);
      bytesPushed += target.length;
      pushed++;
    }
    if (random() % 3 !== 0) producer.publish();
    consumer.read(visit, 1 + (random() % 16));
    if (random() % 2 === 0 || !consumer.hasUnread()) consumer.release(consumer.position());
  }
  t.same(errors, []);
  t.equal(next, total);
  t.ok(bytesPushed / capacity > 300, `wrapped ${Math.floor(bytesPushed / capacity)} times`);
  t.ok(pads > 100, `padded the end ${pads} times`);
});
