// The memory layout of one SPSC ring of variable-length records, and the static function that
// allocates it. Producer and consumer each wrap their own view of the same SharedArrayBuffer.

import { RingRecordError } from '../errors.js';

/*
 * Layout (every header slot is a u32, accessed as `Uint32Array` index = byte offset / 4):
 *
 *   byte 0    MAGIC      identifies a ring built by createRing (catches a wrong buffer early)
 *   byte 4    CAPACITY   data bytes, a power of two
 *   byte 64   WRITE      free-running byte counter; written only by the producer (Atomics.store)
 *   byte 128  READ       free-running byte counter; written only by the consumer (Atomics.store)
 *   byte 192  data       CAPACITY bytes of frames
 *
 * WRITE and READ sit on their own cache lines so the two threads do not false-share.
 * Counters run freely and wrap at 2^32; a power-of-two capacity divides 2^32, so
 * `counter & (capacity - 1)` is the data offset on both sides of the wrap, and
 * `(write - read) >>> 0` is the number of used bytes.
 *
 * A frame is an 8-byte header then the record, padded so the next frame starts 8-aligned:
 *   u32 length (>= 1), u32 ~length (a check word; a torn or stray header fails it).
 * A frame never straddles the end of the data area: when the next record does not fit before
 * the end, the producer writes a pad header (length 0, check 0xffffffff) that tells the consumer
 * to skip to offset 0. The pad always fits, because frames are 8-aligned and so is the end.
 */

export const RING_MAGIC = 0x55585247; // "UXRG"

/** Header slots as `Uint32Array` indices. */
export const MAGIC_SLOT = 0;
export const CAPACITY_SLOT = 1;
export const WRITE_INDEX_SLOT = 16;
export const READ_INDEX_SLOT = 32;

export const HEADER_BYTES = 192;
export const FRAME_HEADER_BYTES = 8;
export const FRAME_ALIGN = 8;
export const PAD_LENGTH = 0;
export const PAD_CHECK = 0xffffffff;

export const MIN_CAPACITY_BYTES = 4096;
/** 1 GiB: far above any sane ring, and keeps every counter difference exact in a u32. */
export const MAX_CAPACITY_BYTES = 2 ** 30;

/** Capacity rounded up to the power of two the ring will actually have. */
export function ringCapacity(capacityBytes: number): number {
  if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 1 || capacityBytes > MAX_CAPACITY_BYTES) {
    throw new RingRecordError(
      `ring capacity must be an integer from 1 to ${MAX_CAPACITY_BYTES} bytes, got ${String(capacityBytes)}`,
    );
  }
  let capacity = MIN_CAPACITY_BYTES;
  while (capacity < capacityBytes) capacity *= 2;
  return capacity;
}

/** Bytes of SharedArrayBuffer a ring of (at least) `capacityBytes` data bytes needs. */
export function ringByteLength(capacityBytes: number): number {
  return HEADER_BYTES + ringCapacity(capacityBytes);
}

/**
 * The largest record a ring of `capacity` data bytes can ever hold. Half the capacity (less the
 * frame header) guarantees that an empty ring takes it whatever the write offset: either it fits
 * before the end, or the end is closer than half and the pad leaves at least half free at 0.
 */
export function maxRecordBytesFor(capacity: number): number {
  return capacity / 2 - FRAME_HEADER_BYTES;
}

/** The smallest ring capacity whose maxRecordBytesFor is at least `recordBytes` (its inverse). */
export function minCapacityFor(recordBytes: number): number {
  return 2 * (recordBytes + FRAME_HEADER_BYTES);
}

/** Bytes a record of `length` bytes occupies in the ring, header and alignment included. */
export function frameBytes(length: number): number {
  return (FRAME_HEADER_BYTES + length + FRAME_ALIGN - 1) & ~(FRAME_ALIGN - 1);
}

export interface CreateRingOptions {
  /**
   * Where both counters start (default 0; a multiple of 8 below 2^32). For tests that need to
   * cross the 2^32 counter wrap without pushing 4 GiB first.
   */
  startIndex?: number;
}

/** Allocates and initialises a ring; the root supervisor owns it and hands it to both sides. */
export function createRing(capacityBytes: number, options: CreateRingOptions = {}): SharedArrayBuffer {
  const capacity = ringCapacity(capacityBytes);
  const start = options.startIndex ?? 0;
  if (!Number.isInteger(start) || start < 0 || start >= 2 ** 32 || start % FRAME_ALIGN !== 0) {
    throw new RingRecordError(`ring startIndex must be a multiple of ${FRAME_ALIGN} below 2^32, got ${String(start)}`);
  }
  const sab = new SharedArrayBuffer(HEADER_BYTES + capacity);
  const header = new Uint32Array(sab, 0, HEADER_BYTES / 4);
  header[MAGIC_SLOT] = RING_MAGIC;
  header[CAPACITY_SLOT] = capacity;
  // Published with Atomics so a thread that receives the buffer sees a consistent header.
  Atomics.store(header, READ_INDEX_SLOT, start);
  Atomics.store(header, WRITE_INDEX_SLOT, start);
  return sab;
}

/** Checks that `sab` was made by createRing and returns its data capacity. */
export function checkRing(sab: SharedArrayBuffer): number {
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < HEADER_BYTES + MIN_CAPACITY_BYTES) {
    throw new RingRecordError('not a ring: expected a SharedArrayBuffer from createRing');
  }
  const header = new Uint32Array(sab, 0, HEADER_BYTES / 4);
  const capacity = Atomics.load(header, CAPACITY_SLOT);
  const isPowerOfTwo = capacity >= MIN_CAPACITY_BYTES && (capacity & (capacity - 1)) === 0;
  if (Atomics.load(header, MAGIC_SLOT) !== RING_MAGIC || !isPowerOfTwo || sab.byteLength !== HEADER_BYTES + capacity) {
    throw new RingRecordError('not a ring: bad magic, capacity or length in the ring header');
  }
  return capacity;
}


/** One side's view of a checked ring: the producer and the consumer each wrap the buffer alike. */
export interface RingView {
  /** Data bytes of the ring (a power of two). */
  capacityBytes: number;
  /** The largest record that can ever fit (maxRecordBytesFor). */
  maxRecordBytes: number;
  /** The whole buffer as 32-bit words: the header slots and every frame header. */
  words: Uint32Array;
  /** The data area, where frames live. */
  data: Uint8Array;
  /** A counter's offset in the data area is `counter & mask`. */
  mask: number;
}

/** Checks `sab` (checkRing) and wraps it for one side of the ring. */
export function openRing(sab: SharedArrayBuffer): RingView {
  const capacityBytes = checkRing(sab);
  return {
    capacityBytes,
    maxRecordBytes: maxRecordBytesFor(capacityBytes),
    words: new Uint32Array(sab),
    data: new Uint8Array(sab, HEADER_BYTES, capacityBytes),
    mask: capacityBytes - 1,
  };
}

/** The word index of the frame header at data offset `offset`: the length, then its check. */
export function frameHeadWord(offset: number): number {
  return (HEADER_BYTES + offset) >>> 2;
}

/** Writes the header of a frame of `length` record bytes at word `head`. */
export function writeFrameHeader(words: Uint32Array, head: number, length: number): void {
  words[head] = length;
  words[head + 1] = ~length >>> 0;
}

/** Writes a pad at word `head`: the consumer skips from there to the end of the data area. */
export function writePad(words: Uint32Array, head: number): void {
  words[head] = PAD_LENGTH;
  words[head + 1] = PAD_CHECK;
}

/** Whether a frame header read as `length` and `check` is a pad. */
export function isPad(length: number, check: number): boolean {
  return length === PAD_LENGTH && check === PAD_CHECK;
}

/** Whether `check` is the check of `length`: the header was written whole by writeFrameHeader. */
export function checksOut(length: number, check: number): boolean {
  return check === ~length >>> 0;
}
