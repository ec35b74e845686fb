// The fixed-size ack record: round trips for every outcome and extreme, and UX_ERR_RING_RECORD
// for out-of-range fields and malformed views.

import t from 'tap';
import { MAX_SEQ, WriteOutcome } from '../../../src/events/answer-event.js';
import { ACK_RECORD_BYTES, decodeAckRecord, encodeAckRecord, type AckEnvelope } from '../../../src/ring/ack-record.js';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';

const base: AckEnvelope = { slot: 12, generation: 4, incarnation: 1, seq: 42, outcome: WriteOutcome.Stored };

t.test('acks round-trip for every outcome and at the extremes', async (t) => {
  t.equal(ACK_RECORD_BYTES, 24);
  const acks: AckEnvelope[] = [
    ...Object.values(WriteOutcome).map((outcome) => ({ ...base, outcome })),
    { slot: 0xffffffff, generation: 0xffffffff, incarnation: 0xffffffff, seq: MAX_SEQ, outcome: WriteOutcome.Duplicate },
    { slot: 0, generation: 0, incarnation: 0, seq: 1, outcome: WriteOutcome.StaleSession },
  ];
  const sab = createRing(4096);
  const producer = new RingProducer(sab);
  for (const ack of acks) {
    const target = producer.tryReserve(ACK_RECORD_BYTES);
    if (target === null) throw new Error('ring full');
    encodeAckRecord(ack, target);
  }
  producer.publish();
  const decoded: AckEnvelope[] = [];
  new RingConsumer(sab).read((record) => decoded.push(decodeAckRecord(record)), 100);
  t.same(decoded, acks);
});

t.test('out-of-range fields and small targets are refused at encode', async (t) => {
  const bad: Array<[string, AckEnvelope]> = [
    ['seq 0', { ...base, seq: 0 }],
    ['seq above 2^53-1', { ...base, seq: MAX_SEQ + 2 }],
    ['unknown outcome', { ...base, outcome: 6 as WriteOutcome }],
    ['negative slot', { ...base, slot: -1 }],
    ['generation above u32', { ...base, generation: 2 ** 32 }],
  ];
  for (const [name, ack] of bad) {
    t.throws(() => encodeAckRecord(ack, new Uint8Array(ACK_RECORD_BYTES)), { code: 'UX_ERR_RING_RECORD' }, name);
  }
  t.throws(() => encodeAckRecord(base, new Uint8Array(ACK_RECORD_BYTES - 1)), { code: 'UX_ERR_RING_RECORD' });
});

t.test('malformed views are refused', async (t) => {
  const good = new Uint8Array(ACK_RECORD_BYTES);
  encodeAckRecord(base, good);
  const mutate = (edit: (bytes: Uint8Array) => void): Uint8Array => {
    const copy = good.slice();
    edit(copy);
    return copy;
  };
  const malformed: Array<[string, Uint8Array]> = [
    ['short', good.subarray(0, 23)],
    ['long', new Uint8Array(25)],
    ['zeroed', new Uint8Array(ACK_RECORD_BYTES)],
    ['wrong tag', mutate((b) => (b[12] = 0x45))],
    ['unknown outcome', mutate((b) => (b[13] = 9))],
    ['nonzero padding', mutate((b) => (b[15] = 1))],
    ['seq NaN', mutate((b) => new DataView(b.buffer).setFloat64(16, NaN, true))],
    ['fractional seq', mutate((b) => new DataView(b.buffer).setFloat64(16, 2.5, true))],
  ];
  for (const [name, view] of malformed) {
    t.throws(() => decodeAckRecord(view), { code: 'UX_ERR_RING_RECORD' }, name);
  }
  t.same(decodeAckRecord(good), base);
});
