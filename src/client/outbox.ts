// The student client's outbox: events not yet settled by an ack or nack, in seq order.
// Seqs are appended in increasing order, so the front is always the lowest unsettled seq.

import type { OutboxEvent } from './types.js';

export interface OutboxEntry {
  readonly event: OutboxEvent;
  /** The encoded `ev` frame, built once: resends are frequent under load. */
  readonly frame: string;
}

export class Outbox {
  // A head index instead of shift(): cumulative acks remove from the front in bulk.
  #items: OutboxEntry[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Appends an entry. The caller hands out seqs in increasing order, which keeps the array sorted. */
  push(entry: OutboxEntry): void {
    this.#items.push(entry);
  }

  /** Removes and returns, in order, every entry with seq <= `seq`. */
  settleUpTo(seq: number): OutboxEntry[] {
    const removed: OutboxEntry[] = [];
    while (this.#head < this.#items.length) {
      const entry = this.#items[this.#head];
      if (entry === undefined || entry.event.seq > seq) break;
      removed.push(entry);
      this.#head++;
    }
    this.#compact();
    return removed;
  }

  /** Removes the entry with exactly this seq, if held. */
  remove(seq: number): OutboxEntry | undefined {
    let lo = this.#head;
    let hi = this.#items.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const entry = this.#items[mid];
      if (entry === undefined) break;
      if (entry.event.seq === seq) {
        this.#items.splice(mid, 1);
        this.#compact();
        return entry;
      }
      if (entry.event.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** A snapshot of the pending entries in seq order (safe to iterate while sending). */
  pending(): OutboxEntry[] {
    return this.#items.slice(this.#head);
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
