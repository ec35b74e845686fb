// The free-running u32 counters wrap at 2^32 in the middle of traffic without losing, repeating
// or misplacing a record: both counters start just below the wrap (createRing's startIndex).

import t from 'tap';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';
import { checkRecord, fillRecord, recordSize } from '../../fixtures/ring-records.js';

const SEED = 0x77aa;

for (const below of [8, 1000, 4096, 4096 + 8, 65536]) {
  t.test(`counters starting ${below} bytes below 2^32`, async (t) => {
    const start = 2 ** 32 - below;
    const sab = createRing(4096, { startIndex: start });
    const producer = new RingProducer(sab);
    const consumer = new RingConsumer(sab);
    t.equal(consumer.position(), start);
    t.equal(producer.freeBytes(), 4096);

    const size = (k: number): number => recordSize(SEED, k, 90, producer.maxRecordBytes, 40);
    const total = 20_000;
    let pushed = 0;
    let next = 0;
    let crossed = false;
    let outOfRange = 0;
    const errors: string[] = [];
    while (next < total) {
      while (pushed < total) {
        const target = producer.tryReserve(size(pushed));
        if (target === null) break;
        fillRecord(target, pushed++);
      }
      producer.publish();
      const before = consumer.position();
      consumer.read((record) => {
        const problem = checkRecord(record, next, size(next));
        if (problem !== null && errors.length < 5) errors.push(problem);
        next++;
      }, 1 + (next % 13));
      const after = consumer.position();
      if (after < before) crossed = true;
      consumer.release(after);
      if (!(after >= 0 && after < 2 ** 32) || consumer.usedBytes() > 4096) outOfRange++;
    }
    t.equal(crossed, true, 'the counters crossed 2^32');
    t.equal(outOfRange, 0, 'positions stay u32 and the fill never exceeds the capacity');
    t.same(errors, []);
    t.equal(next, total);
    t.equal(consumer.hasUnread(), false);
    t.equal(consumer.usedBytes(), 0);
  });
}

t.test('a record that ends exactly at 2^32 leaves the cursor at 0, caught up', async (t) => {
  // Frames of 32 bytes tile the data area, so the counters cross 2^32 without a pad.
  const sab = createRing(4096, { startIndex: 2 ** 32 - 32 * 8 });
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  const problems: string[] = [];
  for (let k = 0; k < 16; k++) {
    const target = producer.tryReserve(24);
    if (target === null) throw new Error('an almost empty ring refused 24 bytes');
    fillRecord(target, k);
    producer.publish();
    let got = 0;
    consumer.read((record) => {
      const problem = checkRecord(record, k, 24);
      if (problem !== null) problems.push(problem);
      got++;
    }, 10);
    const position = consumer.position();
    consumer.release(position);
    const expected = (2 ** 32 - 32 * 8 + 32 * (k + 1)) % 2 ** 32;
    if (got !== 1 || position !== expected || consumer.hasUnread() || consumer.usedBytes() !== 0) {
      problems.push(`step ${k}: got ${got}, position ${position} (expected ${expected}), unread ${consumer.hasUnread()}`);
    }
  }
  t.same(problems, []);
  t.equal(producer.freeBytes(), 4096);
});
