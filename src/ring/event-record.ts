// The binary record of one student event on its way from a connection actor to a Redis writer,
// encoded straight into ring memory and decoded from it.

import { RingRecordError } from '../errors.js';
import { isValidSeq, MAX_ID_LENGTH, type AnswerEvent, type EventKind } from '../events/answer-event.js';
import { isU32, readF64, readU16, readU32, writeF64, writeU16, writeU32 } from './record-bytes.js';

/*
 * Layout (little-endian; f64 fields are 8-aligned within the record):
 *
 *   0  u32 slot          socket slot in the connection actor
 *   4  u32 generation    of that slot, so a reused slot never gets a stale ack
 *   8  u32 incarnation   of the connection actor
 *  12  u32 epoch         the student's session epoch
 *  16  u32 bucket
 *  20  u8  tag           0x45 'E' (an ack record in the wrong ring fails here)
 *  21  u8  kind          0 open, 1 answer, 2 submit
 *  22  u16 exam length   UTF-8 bytes
 *  24  f64 seq
 *  32  f64 serverTs
 *  40  f64 clientTs      NaN when null
 *  48  u16 student length
 *  50  u16 question length, 0xffff when null
 *  52  u32 value length,    0xffffffff when null
 *  56  exam, student, question, value: UTF-8, back to back, no terminators
 *
 * The record is exactly as long as its head and strings: trailing bytes are malformed.
 */

export interface EventEnvelope {
  slot: number;
  generation: number;
  incarnation: number;
  epoch: number;
  bucket: number;
  event: AnswerEvent;
}

const EVENT_TAG = 0x45;
const HEAD_BYTES = 56;
const ID_ABSENT = 0xffff;
const VALUE_ABSENT = 0xffffffff;
/** Longest id the u16 length field holds (ids are 64 chars; this only bounds garbage). */
const MAX_ID_BYTES = 0xfffe;
/** Up to this length a JS loop beats a call into TextEncoder/TextDecoder for ASCII strings. */
const ASCII_LOOP_MAX = 64;

const KIND_CODES: Readonly<Record<EventKind, number>> = { open: 0, answer: 1, submit: 2 };
const KINDS: readonly EventKind[] = ['open', 'answer', 'submit'];

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The longest event record a connection actor can encode when values hold at most `maxValueBytes`
 * UTF-8 bytes: the head and three ids at their longest (ids are ASCII, one byte a character).
 */
export function maxEventRecordLength(maxValueBytes: number): number {
  return HEAD_BYTES + 3 * MAX_ID_LENGTH + maxValueBytes;
}

/** Bytes encodeEventRecord will write for `env`: reserve exactly this much in the ring. */
export function eventRecordLength(env: EventEnvelope): number {
  const { event } = env;
  let length = HEAD_BYTES + Buffer.byteLength(event.exam, 'utf8') + Buffer.byteLength(event.student, 'utf8');
  if (event.question !== null) length += Buffer.byteLength(event.question, 'utf8');
  if (event.value !== null) length += Buffer.byteLength(event.value, 'utf8');
  return length;
}

/** Encodes `env` at the start of `target` and returns the bytes written. */
export function encodeEventRecord(env: EventEnvelope, target: Uint8Array): number {
  const { event } = env;
  const kind = KIND_CODES[event.kind];
  if (
    !isU32(env.slot) || !isU32(env.generation) || !isU32(env.incarnation) || !isU32(env.epoch) || !isU32(env.bucket) ||
    kind === undefined || !isValidSeq(event.seq) || !Number.isFinite(event.serverTs) ||
    (event.clientTs !== null && !Number.isFinite(event.clientTs))
  ) {
    throw new RingRecordError('event record: a field is out of range (u32 ids, kind, seq, finite times)');
  }
  if (target.length < HEAD_BYTES) throw tooSmall(target);
  writeU32(target, 0, env.slot);
  writeU32(target, 4, env.generation);
  writeU32(target, 8, env.incarnation);
  writeU32(target, 12, env.epoch);
  writeU32(target, 16, env.bucket);
  target[20] = EVENT_TAG;
  target[21] = kind;
  writeF64(target, 24, event.seq);
  writeF64(target, 32, event.serverTs);
  writeF64(target, 40, event.clientTs === null ? NaN : event.clientTs);

  let pos = HEAD_BYTES;
  const examBytes = writeString(event.exam, target, pos);
  pos += examBytes;
  const studentBytes = writeString(event.student, target, pos);
  pos += studentBytes;
  let questionBytes = 0;
  if (event.question !== null) {
    questionBytes = writeString(event.question, target, pos);
    pos += questionBytes;
  }
  if (examBytes > MAX_ID_BYTES || studentBytes > MAX_ID_BYTES || questionBytes > MAX_ID_BYTES) {
    throw new RingRecordError('event record: an id is longer than the record format allows');
  }
  let valueBytes = VALUE_ABSENT;
  if (event.value !== null) {
    valueBytes = writeString(event.value, target, pos);
    pos += valueBytes;
  }
  writeU16(target, 22, examBytes);
  writeU16(target, 48, studentBytes);
  writeU16(target, 50, event.question === null ? ID_ABSENT : questionBytes);
  writeU32(target, 52, valueBytes);
  return pos;
}

/** Decodes one event record; the view must be exactly the record (as the ring hands it out). */
export function decodeEventRecord(view: Uint8Array): EventEnvelope {
  if (view.length < HEAD_BYTES) throw malformed(`${view.length} bytes is shorter than the ${HEAD_BYTES}-byte head`);
  const kind = KINDS[view[21]!];
  if (view[20] !== EVENT_TAG || kind === undefined) throw malformed('bad tag or kind');
  const examBytes = readU16(view, 22);
  const studentBytes = readU16(view, 48);
  const questionBytes = readU16(view, 50);
  const valueBytes = readU32(view, 52);
  const questionLength = questionBytes === ID_ABSENT ? 0 : questionBytes;
  const valueLength = valueBytes === VALUE_ABSENT ? 0 : valueBytes;
  if (HEAD_BYTES + examBytes + studentBytes + questionLength + valueLength !== view.length) {
    throw malformed('string lengths do not add up to the record length');
  }
  const seq = readF64(view, 24);
  const serverTs = readF64(view, 32);
  const clientTs = readF64(view, 40);
  if (!isValidSeq(seq) || !Number.isFinite(serverTs) || !(Number.isNaN(clientTs) || Number.isFinite(clientTs))) {
    throw malformed('seq or a timestamp is out of range');
  }
  let pos = HEAD_BYTES;
  const exam = readString(view, pos, examBytes);
  pos += examBytes;
  const student = readString(view, pos, studentBytes);
  pos += studentBytes;
  const question = questionBytes === ID_ABSENT ? null : readString(view, pos, questionBytes);
  pos += questionLength;
  const value = valueBytes === VALUE_ABSENT ? null : readString(view, pos, valueBytes);
  return {
    slot: readU32(view, 0),
    generation: readU32(view, 4),
    incarnation: readU32(view, 8),
    epoch: readU32(view, 12),
    bucket: readU32(view, 16),
    event: { exam, student, seq, kind, question, value, clientTs: Number.isNaN(clientTs) ? null : clientTs, serverTs },
  };
}

/** Writes `text` as UTF-8 at `pos` and returns its byte length; throws if `target` is too small. */
function writeString(text: string, target: Uint8Array, pos: number): number {
  const length = text.length;
  if (length <= ASCII_LOOP_MAX && pos + length <= target.length) {
    let i = 0;
    for (; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) break;
      target[pos + i] = code;
    }
    if (i === length) return length;
  }
  const result = encoder.encodeInto(text, target.subarray(pos));
  if (result.read !== length) throw tooSmall(target);
  return result.written;
}

function readString(view: Uint8Array, pos: number, length: number): string {
  if (length === 0) return '';
  if (length <= ASCII_LOOP_MAX) {
    // Ids are ASCII by contract, and short strings build faster here than through TextDecoder.
    let text = '';
    let i = pos;
    const end = pos + length;
    for (; i < end; i++) {
      const byte = view[i]!;
      if (byte >= 0x80) break;
      text += String.fromCharCode(byte);
    }
    if (i === end) return text;
  }
  try {
    return decoder.decode(view.subarray(pos, pos + length));
  } catch {
    // TextDecoder's TypeError says no more than this; RingRecordError takes no cause.
    throw malformed('a string is not valid UTF-8');
  }
}

function tooSmall(target: Uint8Array): RingRecordError {
  return new RingRecordError(`event record: target of ${target.length} bytes is too small; size it with eventRecordLength`);
}

function malformed(why: string): RingRecordError {
  return new RingRecordError(`malformed event record: ${why}`);
}
