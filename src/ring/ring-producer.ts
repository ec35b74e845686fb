// The producing side of an SPSC ring: reserves space for records, lets the caller encode them in
// place, and publishes a batch with one Atomics.store of the write index.

import { RingRecordError } from '../errors.js';
import {
  frameBytes,
  frameHeadWord,
  openRing,
  writeFrameHeader,
  writePad,
  FRAME_HEADER_BYTES,
  READ_INDEX_SLOT,
  WRITE_INDEX_SLOT,
} from './ring-layout.js';

export class RingProducer {
  /** Data bytes of the ring (a power of two). */
  readonly capacityBytes: number;
  /** The largest record that can ever fit; tryReserve throws above it. */
  readonly maxRecordBytes: number;

  readonly #words: Uint32Array;
  readonly #data: Uint8Array;
  readonly #mask: number;
  /** Counter after the last reservation (ahead of the shared write index until publish). */
  #reserved: number;
  #published: number;
  /** Last read index seen; refreshed from shared memory only when it looks too small. */
  #readSeen: number;

  constructor(sab: SharedArrayBuffer) {
    ({ capacityBytes: this.capacityBytes, maxRecordBytes: this.maxRecordBytes, words: this.#words, data: this.#data, mask: this.#mask } = openRing(sab));
    // A restarted producer continues after what its predecessor published; anything the
    // predecessor reserved but never published is simply overwritten.
    this.#published = Atomics.load(this.#words, WRITE_INDEX_SLOT);
    this.#reserved = this.#published;
    this.#readSeen = Atomics.load(this.#words, READ_INDEX_SLOT);
  }

  /**
   * A writable view of exactly `length` bytes for one record, or null when the ring has no
   * room now. The record stays invisible to the consumer until publish().
   */
  tryReserve(length: number): Uint8Array | null {
    if (!(length >= 1 && length <= this.maxRecordBytes) || !Number.isInteger(length)) {
      throw new RingRecordError(`ring record of ${String(length)} bytes: must be 1 to ${this.maxRecordBytes} bytes`);
    }
    const capacity = this.capacityBytes;
    const frame = frameBytes(length);
    let offset = this.#reserved & this.#mask;
    const tail = capacity - offset;
    const need = frame <= tail ? frame : tail + frame;
    if (capacity - ((this.#reserved - this.#readSeen) >>> 0) < need) {
      this.#readSeen = Atomics.load(this.#words, READ_INDEX_SLOT);
      if (capacity - ((this.#reserved - this.#readSeen) >>> 0) < need) return null;
    }
    const words = this.#words;
    if (frame > tail) {
      writePad(words, frameHeadWord(offset));
      this.#reserved = (this.#reserved + tail) >>> 0;
      offset = 0;
    }
    writeFrameHeader(words, frameHeadWord(offset), length);
    this.#reserved = (this.#reserved + frame) >>> 0;
    const start = offset + FRAME_HEADER_BYTES;
    return this.#data.subarray(start, start + length);
  }

  /** Makes every reserved record visible to the consumer at once. */
  publish(): void {
    if (this.#reserved === this.#published) return;
    this.#published = this.#reserved;
    // Atomics are sequentially consistent: the plain writes of the records above happen-before
    // any consumer's Atomics.load that sees this value.
    Atomics.store(this.#words, WRITE_INDEX_SLOT, this.#reserved);
  }

  /** Reserve, copy and publish one record; false when the ring is full now. */
  tryPush(record: Uint8Array): boolean {
    const target = this.tryReserve(record.length);
    if (target === null) return false;
    target.set(record);
    this.publish();
    return true;
  }

  /** Bytes free now, counting reserved-but-unpublished records as used. */
  freeBytes(): number {
    this.#readSeen = Atomics.load(this.#words, READ_INDEX_SLOT);
    return this.capacityBytes - ((this.#reserved - this.#readSeen) >>> 0);
  }
}
