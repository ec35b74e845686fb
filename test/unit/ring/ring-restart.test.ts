// The ring outlives its actors: a new consumer starts at the shared read index (re-reading what
// a dead consumer read but never released), and a new producer continues after the write index.

import t from 'tap';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';

function pushRange(producer: RingProducer, from: number, to: number): void {
  for (let value = from; value < to; value++) {
    const target = producer.tryReserve(1 + ((value & 0xff) % 40));
    if (target === null) throw new Error('ring unexpectedly full');
    target.fill(value);
  }
  producer.publish();
}

function readValues(consumer: RingConsumer, max = 1000): number[] {
  const out: number[] = [];
  consumer.read((record) => {
    if (record.length !== 1 + (record[0]! % 40) || record.some((byte) => byte !== record[0])) out.push(-1);
    else out.push(record[0]!);
  }, max);
  return out;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

t.test('a restarted consumer re-reads what the dead one read but did not release', async (t) => {
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  pushRange(producer, 0, 30);
  const dead = new RingConsumer(sab);
  t.same(readValues(dead, 10), range(0, 10));
  dead.release(dead.position());
  t.same(readValues(dead, 10), range(10, 20), 'read, never released');

  const restarted = new RingConsumer(sab);
  t.equal(restarted.usedBytes(), dead.usedBytes());
  t.same(readValues(restarted), range(10, 30));
  restarted.release(restarted.position());
  t.equal(restarted.usedBytes(), 0);
  t.equal(producer.freeBytes(), 4096);
});

t.test('a restarted producer continues after the published records', async (t) => {
  const sab = createRing(4096);
  const consumer = new RingConsumer(sab);
  pushRange(new RingProducer(sab), 0, 20);
  t.same(readValues(consumer, 5), range(0, 5));
  consumer.release(consumer.position());

  const restarted = new RingProducer(sab);
  t.equal(restarted.freeBytes(), 4096 - consumer.usedBytes());
  pushRange(restarted, 20, 40);
  t.same(readValues(consumer), range(5, 40));
});

t.test('restarts on both sides through many wraps lose and duplicate nothing', async (t) => {
  const sab = createRing(4096);
  let producer = new RingProducer(sab);
  let consumer = new RingConsumer(sab);
  let nextToPush = 0;
  let bytesPushed = 0;
  let releasedCount = 0; // delivered[0 .. releasedCount) are done for good
  const delivered: number[] = [];
  for (let round = 0; round < 8000; round++) {
    while (producer.freeBytes() > 200) {
      pushRange(producer, nextToPush, nextToPush + 1);
      bytesPushed += 1 + ((nextToPush & 0xff) % 40);
      nextToPush++;
    }
    delivered.push(...readValues(consumer, 1 + (round % 7)));
    if (round % 3 === 0) {
      consumer.release(consumer.position());
      releasedCount = delivered.length;
    }
    if (round % 5 === 0) producer = new RingProducer(sab);
    if (round % 7 === 0) {
      consumer = new RingConsumer(sab);
      delivered.length = releasedCount; // what the dead consumer did not release comes again
    }
  }
  consumer.release(consumer.position());
  delivered.push(...readValues(consumer, 1_000_000));
  t.ok(bytesPushed > 4096 * 100, `wrapped the ring ${Math.floor(bytesPushed / 4096)} times`);
  t.equal(delivered.length, nextToPush);
  t.same(delivered, range(0, nextToPush).map((v) => v & 0xff));
});
