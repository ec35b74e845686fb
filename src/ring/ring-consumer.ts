// The consuming side of an SPSC ring: reads published records in place, and frees their space
// only when told to (after Redis has them), so a restarted consumer reads them again.

import { RingRecordError } from '../errors.js';
import {
  checksOut,
  frameBytes,
  frameHeadWord,
  isPad,
  openRing,
  FRAME_HEADER_BYTES,
  READ_INDEX_SLOT,
  WRITE_INDEX_SLOT,
} from './ring-layout.js';

export class RingConsumer {
  /** Data bytes of the ring (a power of two). */
  readonly capacityBytes: number;

  readonly #words: Uint32Array;
  readonly #data: Uint8Array;
  readonly #mask: number;
  readonly #maxRecordBytes: number;
  /** Counter after the last record visited; runs ahead of the shared read index. */
  #cursor: number;
  /** The shared read index as this consumer last stored it (it is the only writer). */
  #released: number;

  constructor(sab: SharedArrayBuffer) {
    ({ capacityBytes: this.capacityBytes, maxRecordBytes: this.#maxRecordBytes, words: this.#words, data: this.#data, mask: this.#mask } = openRing(sab));
    // A restarted consumer starts at the shared read index: whatever its predecessor read but
    // did not release is read again.
    this.#released = Atomics.load(this.#words, READ_INDEX_SLOT);
    this.#cursor = this.#released;
  }

  /**
   * Visits up to `maxRecords` published records after the local cursor, in order, and returns
   * how many it visited. `record` is a view into the ring, valid until release() frees it.
   * If `visit` throws, the cursor stays before that record and the error propagates.
   */
  read(visit: (record: Uint8Array) => void, maxRecords: number): number {
    const words = this.#words;
    const capacity = this.capacityBytes;
    const write = Atomics.load(words, WRITE_INDEX_SLOT);
    let cursor = this.#cursor;
    let count = 0;
    while (count < maxRecords && cursor !== write) {
      const offset = cursor & this.#mask;
      const head = frameHeadWord(offset);
      const length = words[head]!;
      const check = words[head + 1]!;
      if (isPad(length, check)) {
        // A pad is published together with the record after it, so one must follow.
        if (capacity - offset >= ((write - cursor) >>> 0)) {
          throw new RingRecordError(`ring corrupted: pad at counter ${cursor} runs past the write index`);
        }
        cursor = (cursor + capacity - offset) >>> 0;
        continue;
      }
      const frame = frameBytes(length);
      if (!checksOut(length, check) || length > this.#maxRecordBytes || frame > capacity - offset || frame > ((write - cursor) >>> 0)) {
        throw new RingRecordError(`ring corrupted: bad frame header at counter ${cursor} (length ${length})`);
      }
      const start = offset + FRAME_HEADER_BYTES;
      visit(this.#data.subarray(start, start + length));
      cursor = (cursor + frame) >>> 0;
      this.#cursor = cursor;
      count++;
    }
    return count;
  }

  /** Opaque cursor after the last record read; hand it to release() once those are safe. */
  position(): number {
    return this.#cursor;
  }

  /** Frees the ring space up to `position` (a value from position()). */
  release(position: number): void {
    const released = this.#released;
    if (!Number.isInteger(position) || ((position - released) >>> 0) > ((this.#cursor - released) >>> 0)) {
      throw new RingRecordError(`ring release(${String(position)}) is outside the records read since the last release`);
    }
    this.#released = position;
    Atomics.store(this.#words, READ_INDEX_SLOT, position);
  }

  /** Moves the local cursor back to the shared read index, to read unreleased records again. */
  rewind(): void {
    this.#released = Atomics.load(this.#words, READ_INDEX_SLOT);
    this.#cursor = this.#released;
  }

  /** True when a published record lies after the local cursor. */
  hasUnread(): boolean {
    return this.#cursor !== Atomics.load(this.#words, WRITE_INDEX_SLOT);
  }

  /** Bytes published but not yet released (frames and padding included): the ring's fill. */
  usedBytes(): number {
    return (Atomics.load(this.#words, WRITE_INDEX_SLOT) - Atomics.load(this.#words, READ_INDEX_SLOT)) >>> 0;
  }
}
