// The fixed-size record of one write result on its way back from a Redis writer to the
// connection actor that holds the student's socket.

import { RingRecordError } from '../errors.js';
import { isValidSeq, isWriteOutcome, type WriteOutcome } from '../events/answer-event.js';
import { isU32, readF64, readU32, writeF64, writeU32 } from './record-bytes.js';

/*
 * Layout (little-endian, 24 bytes):
 *
 *   0  u32 slot          socket slot in the connection actor
 *   4  u32 generation    of that slot; a mismatch means the socket is gone and the ack is dropped
 *   8  u32 incarnation   of the connection actor that sent the event
 *  12  u8  tag           0x41 'A' (an event record in the wrong ring fails here)
 *  13  u8  outcome       WriteOutcome
 *  14  u16 zero
 *  16  f64 seq
 */

export interface AckEnvelope {
  slot: number;
  generation: number;
  incarnation: number;
  seq: number;
  outcome: WriteOutcome;
}

export const ACK_RECORD_BYTES = 24;
const ACK_TAG = 0x41;

/** Encodes `ack` into the first ACK_RECORD_BYTES bytes of `target`. */
export function encodeAckRecord(ack: AckEnvelope, target: Uint8Array): void {
  if (target.length < ACK_RECORD_BYTES) {
    throw new RingRecordError(`ack record: target of ${target.length} bytes is smaller than ${ACK_RECORD_BYTES}`);
  }
  if (!isU32(ack.slot) || !isU32(ack.generation) || !isU32(ack.incarnation) || !isValidSeq(ack.seq) || !isWriteOutcome(ack.outcome)) {
    throw new RingRecordError('ack record: a field is out of range (u32 ids, seq, outcome)');
  }
  writeU32(target, 0, ack.slot);
  writeU32(target, 4, ack.generation);
  writeU32(target, 8, ack.incarnation);
  target[12] = ACK_TAG;
  target[13] = ack.outcome;
  target[14] = 0;
  target[15] = 0;
  writeF64(target, 16, ack.seq);
}

/** Decodes one ack record; the view must be exactly ACK_RECORD_BYTES long. */
export function decodeAckRecord(view: Uint8Array): AckEnvelope {
  if (view.length !== ACK_RECORD_BYTES) {
    throw new RingRecordError(`malformed ack record: ${view.length} bytes, expected ${ACK_RECORD_BYTES}`);
  }
  const outcome = view[13]!;
  const seq = readF64(view, 16);
  if (view[12] !== ACK_TAG || view[14] !== 0 || view[15] !== 0 || !isWriteOutcome(outcome) || !isValidSeq(seq)) {
    throw new RingRecordError('malformed ack record: bad tag, outcome or seq');
  }
  return { slot: readU32(view, 0), generation: readU32(view, 4), incarnation: readU32(view, 8), seq, outcome };
}
