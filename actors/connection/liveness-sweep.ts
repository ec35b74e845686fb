// WebSocket liveness for one connection actor: a socket heard from since its last visit is alive;
// any other is pinged, and dropped at the next visit if it did not answer.

import type { SlotTable } from './slot-table.js';
import { WakeableInterval } from './wakeable-interval.js';

export interface Pingable {
  /** Set by the pong handler; cleared when a ping goes out. */
  alive: boolean;
  /**
   * Set by every frame read from the socket; cleared by the sweep's visit. A socket that sent
   * something since the last visit proved itself alive, so it is not pinged.
   */
  heard: boolean;
  ws: { ping(): void; terminate(): void };
}

/** Ticks per interval: each tick walks this share of the slot table. */
const TICKS_PER_INTERVAL = 100;
const MIN_TICK_MS = 10;

/**
 * Pinging all of an actor's ~10,000 sockets in one callback stalled its loop for hundreds of ms
 * every interval, and every client answered in the same instant: the steady-state p99 ack latency
 * went from 64 ms to 271 ms with 19,000 students (bench/exam-day). A cursor over the slot table
 * visits 1/100 of it per tick instead, so each socket is still visited once per interval.
 *
 * A socket heard from since its last visit is not pinged: its frame already proved the connection
 * alive, and a ping and its pong are a write and a read per socket per interval (for 3,000 silent
 * sockets ~1% of a core on a 2-core VM, docs/TUNING.md). A socket that goes silent is pinged at the
 * first visit that finds no frame since the one before, and dropped at the next if it did not
 * answer.
 */
export class LivenessSweep<T extends Pingable> {
  private cursor = 0;
  /** The fraction of a visit owed from earlier ticks (a tick's share of the table is rarely whole). */
  private carry = 0;
  readonly tickMs: number;
  private readonly timer: WakeableInterval;

  constructor(
    private readonly slots: SlotTable<T>,
    private readonly intervalMs: number,
  ) {
    this.tickMs = Math.max(MIN_TICK_MS, Math.floor(intervalMs / TICKS_PER_INTERVAL));
    const empty = () => this.slots.size === 0;
    this.timer = new WakeableInterval(this.tickMs, () => {
      this.tick();
      if (empty()) this.timer.sleep();
    }, empty);
    slots.onOccupied(() => this.timer.wake());
  }

  /** Ticks while the table holds sockets; an actor with none is never woken by the sweep. */
  start(): void {
    this.timer.start();
  }

  stop(): void {
    this.timer.stop();
  }

  /** True while the tick timer runs (for tests). */
  get ticking(): boolean {
    return this.timer.ticking;
  }

  /** Visits the next share of the table; returns how many sockets it pinged or terminated. */
  tick(): number {
    const capacity = this.slots.capacity;
    if (capacity === 0) return 0;
    // Fractional shares accumulate, so a table smaller than the tick count is still walked once per interval.
    this.carry += (capacity * this.tickMs) / this.intervalMs;
    let visits = Math.floor(this.carry);
    this.carry -= visits;
    let touched = 0;
    while (visits > 0) {
      visits -= 1;
      if (this.cursor >= capacity) this.cursor = 0;
      const item = this.slots.at(this.cursor);
      this.cursor += 1;
      if (item === undefined) continue;
      if (item.heard) {
        item.heard = false;
        item.alive = true;
        continue;
      }
      touched += 1;
      if (!item.alive) {
        item.ws.terminate();
        continue;
      }
      item.alive = false;
      item.ws.ping();
    }
    return touched;
  }
}
