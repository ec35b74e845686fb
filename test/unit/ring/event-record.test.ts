// The event record codec: exact round trips (unicode, "" and null values, extreme numbers) and
// UX_ERR_RING_RECORD for out-of-range fields and malformed views.

import t from 'tap';
import { MAX_CLIENT_TS, MAX_SEQ, type AnswerEvent } from '../../../src/events/answer-event.js';
import { decodeEventRecord, encodeEventRecord, eventRecordLength, type EventEnvelope } from '../../../src/ring/event-record.js';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingProducer } from '../../../src/ring/ring-producer.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';

function envelope(event: Partial<AnswerEvent>, ids: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    slot: 7,
    generation: 3,
    incarnation: 2,
    epoch: 5,
    bucket: 1023,
    ...ids,
    event: {
      exam: 'EXAM-2025.final_1',
      student: 's.12345',
      seq: 42,
      kind: 'answer',
      question: 'Q7',
      value: 'B',
      clientTs: 1764400000000,
      serverTs: 1764400000123,
      ...event,
    },
  };
}

function roundTrip(env: EventEnvelope): EventEnvelope {
  const length = eventRecordLength(env);
  const target = new Uint8Array(length + 16).fill(0xcc);
  const written = encodeEventRecord(env, target);
  if (written !== length) throw new Error(`wrote ${written} bytes, eventRecordLength said ${length}`);
  if (target.subarray(length).some((byte) => byte !== 0xcc)) throw new Error('wrote past the record');
  return decodeEventRecord(target.subarray(0, length));
}

const cases: Array<[string, EventEnvelope]> = [
  ['a plain answer', envelope({})],
  ['an open with nulls', envelope({ kind: 'open', question: null, value: null, clientTs: null })],
  ['a submit', envelope({ kind: 'submit', question: null, value: null })],
  ['an empty value', envelope({ value: '' })],
  ['unicode in the value', envelope({ value: 'ñandú — 答え 🦜 \u{10FFFF} e\u0301' })],
  ['a value with a leading BOM', envelope({ value: '\uFEFFkept' })],
  ['a long non-ASCII value', envelope({ value: 'é'.repeat(1024) })],
  ['a long ASCII value', envelope({ value: 'x'.repeat(2048) })],
  ['the largest seq', envelope({ seq: MAX_SEQ })],
  ['seq 1 and clientTs 0', envelope({ seq: 1, clientTs: 0 })],
  ['the largest clientTs', envelope({ clientTs: MAX_CLIENT_TS })],
  ['64-char ids', envelope({ exam: 'e'.repeat(64), student: 'S'.repeat(64), question: 'q'.repeat(64) })],
  ['u32 extremes', envelope({}, { slot: 0xffffffff, generation: 0, incarnation: 0xffffffff, epoch: 0x80000000, bucket: 0 })],
];

t.test('records round-trip exactly', async (t) => {
  for (const [name, env] of cases) t.same(roundTrip(env), env, name);
});

t.test('a NaN clientTs cannot be encoded, and a null one decodes as null', async (t) => {
  t.throws(() => roundTrip(envelope({ clientTs: NaN })), { code: 'UX_ERR_RING_RECORD' });
  t.equal(roundTrip(envelope({ clientTs: null })).event.clientTs, null);
});

t.test('the length counts UTF-8 bytes', async (t) => {
  const ascii = eventRecordLength(envelope({ value: 'ab' }));
  t.equal(eventRecordLength(envelope({ value: 'ñ' })), ascii, 'ñ is two bytes');
  t.equal(eventRecordLength(envelope({ value: '🦜' })), ascii + 2, 'an astral char is four bytes');
  t.equal(eventRecordLength(envelope({ value: null })), ascii - 2);
});

t.test('records travel through a ring encoded in place', async (t) => {
  const sab = createRing(8192);
  const producer = new RingProducer(sab);
  const consumer = new RingConsumer(sab);
  for (const [, env] of cases) {
    const target = producer.tryReserve(eventRecordLength(env));
    if (target === null) throw new Error('ring full');
    encodeEventRecord(env, target);
  }
  producer.publish();
  const decoded: EventEnvelope[] = [];
  consumer.read((record) => decoded.push(decodeEventRecord(record)), 100);
  t.same(decoded, cases.map(([, env]) => env));
});

t.test('out-of-range fields are refused at encode', async (t) => {
  const bad: Array<[string, EventEnvelope]> = [
    ['seq 0', envelope({ seq: 0 })],
    ['seq above 2^53-1', envelope({ seq: MAX_SEQ + 2 })],
    ['fractional seq', envelope({ seq: 1.5 })],
    ['unknown kind', envelope({ kind: 'close' as AnswerEvent['kind'] })],
    ['infinite serverTs', envelope({ serverTs: Infinity })],
    ['negative slot', envelope({}, { slot: -1 })],
    ['bucket above u32', envelope({}, { bucket: 2 ** 32 })],
    ['fractional epoch', envelope({}, { epoch: 0.5 })],
  ];
  for (const [name, env] of bad) {
    t.throws(() => encodeEventRecord(env, new Uint8Array(4096)), { code: 'UX_ERR_RING_RECORD' }, name);
  }
});

t.test('a target too small is refused, never overrun', async (t) => {
  const env = envelope({ value: 'ñ'.repeat(50) });
  const length = eventRecordLength(env);
  for (const size of [0, 10, 56, length - 1]) {
    const backing = new Uint8Array(length + 8).fill(0xcc);
    t.throws(() => encodeEventRecord(env, backing.subarray(0, size)), { code: 'UX_ERR_RING_RECORD' }, `${size} bytes`);
    t.ok(backing.subarray(size).every((byte) => byte === 0xcc), `nothing written past ${size} bytes`);
  }
});

t.test('malformed views are refused', async (t) => {
  const env = envelope({ value: 'hello' });
  const good = new Uint8Array(eventRecordLength(env));
  encodeEventRecord(env, good);
  const mutate = (edit: (bytes: Uint8Array) => void, extra = 0): Uint8Array => {
    const copy = new Uint8Array(good.length + extra);
    copy.set(good);
    edit(copy);
    return copy;
  };
  const f64At = (bytes: Uint8Array, pos: number, value: number): void => {
    new DataView(bytes.buffer, bytes.byteOffset).setFloat64(pos, value, true);
  };
  const malformed: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['truncated head', good.subarray(0, 40)],
    ['truncated strings', good.subarray(0, good.length - 1)],
    ['trailing byte', mutate(() => {}, 1)],
    ['wrong tag', mutate((b) => (b[20] = 0x41))],
    ['unknown kind', mutate((b) => (b[21] = 3))],
    ['exam length too long', mutate((b) => (b[22] = b[22]! + 1))],
    ['value length absent but bytes present', mutate((b) => b.fill(0xff, 52, 56))],
    ['seq 0', mutate((b) => f64At(b, 24, 0))],
    ['seq NaN', mutate((b) => f64At(b, 24, NaN))],
    ['serverTs NaN', mutate((b) => f64At(b, 32, NaN))],
    ['clientTs infinite', mutate((b) => f64At(b, 40, -Infinity))],
    ['invalid UTF-8 in the value', mutate((b) => (b[b.length - 1] = 0xff))],
    ['a lone continuation byte in an id', mutate((b) => (b[56] = 0x80))],
  ];
  for (const [name, view] of malformed) {
    t.throws(() => decodeEventRecord(view), { code: 'UX_ERR_RING_RECORD' }, name);
  }
  t.same(decodeEventRecord(good), env, 'the unmutated record still decodes');
});
