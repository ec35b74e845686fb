// rewind() takes the local cursor back to the shared read index: records read but not released
// (a failed Redis batch) are read again, records released are not.

import t from 'tap';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';

function pushAll(producer: RingProducer, values: number[]): void {
  for (const value of values) {
    if (!producer.tryPush(new Uint8Array([value]))) throw new Error('ring unexpectedly full');
  }
}

function readAll(consumer: RingConsumer, max = 1000): number[] {
  const out: number[] = [];
  consumer.read((record) => out.push(record[0]!), max);
  return out;
}

t.test('rewind re-reads exactly the unreleased records', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  pushAll(producer, [1, 2, 3, 4, 5]);
  t.same(readAll(consumer, 2), [1, 2]);
  consumer.release(consumer.position());
  t.same(readAll(consumer, 2), [3, 4]);
  consumer.rewind();
  t.same(readAll(consumer), [3, 4, 5], 'the failed batch and what followed, again');
  consumer.rewind();
  t.same(readAll(consumer), [3, 4, 5], 'rewind is repeatable');
  consumer.release(consumer.position());
  consumer.rewind();
  t.same(readAll(consumer), [], 'nothing after everything is released');
  t.equal(consumer.usedBytes(), 0);
});

t.test('a visitor that throws leaves the cursor before its record', async (t) => {
  const sab = createRing(4096);
  const consumer = new RingConsumer(sab);
  pushAll(new RingProducer(sab), [1, 2, 3]);
  const seen: number[] = [];
  const boom = new Error('boom');
  t.throws(() =>
    consumer.read((record) => {
      if (record[0] === 2) throw boom;
      seen.push(record[0]!);
    }, 10),
  );
  t.same(seen, [1]);
  t.same(readAll(consumer), [2, 3]);
});

t.test('rewind across a padded wrap re-reads the same bytes', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  // Fill most of the ring, drain it, so the next records must pad and wrap.
  const big = new Uint8Array(2000);
  producer.tryPush(big);
  producer.tryPush(big);
  consumer.read(() => {}, 10);
  consumer.release(consumer.position());
  const first = new Uint8Array(300).fill(9);
  t.equal(producer.tryPush(first), true);
  t.equal(producer.tryPush(new Uint8Array(300).fill(8)), true);
  const lengths = (): string[] => {
    const out: string[] = [];
    consumer.read((record) => out.push(`${record.length}:${record[0]}:${record[record.length - 1]}`), 10);
    return out;
  };
  t.same(lengths(), ['300:9:9', '300:8:8']);
  consumer.rewind();
  t.same(lengths(), ['300:9:9', '300:8:8']);
});
