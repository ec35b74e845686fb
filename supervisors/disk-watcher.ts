// Rule S3: watches the free space of the filesystem holding dataDir (the AOF, the SQLite sink)
// and closes the writers' storage gate below storage.minFreeBytes, before Redis meets a full disk.

import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import { createStorageGate, setStorageOpen } from '../src/storage/storage-gate.js';

/** `low`: below the warning watermark (twice minFreeBytes); `full`: below minFreeBytes, nothing acked. */
export type StorageState = 'ok' | 'low' | 'full' | 'unknown';

export interface StorageStatus {
  path: string;
  freeBytes: number | null;
  minFreeBytes: number;
  state: StorageState;
}

/**
 * At least once a second (S3), with room for a late timer; acks resume well within S3's 5 s of space
 * returning. Each check wakes the main thread and a libuv pool thread (statfs): at 500 ms that was a
 * fifth of an idle server's wake-ups.
 */
const CHECK_MS = 900;

export class DiskWatcher {
  readonly gate = createStorageGate();
  private freeBytes: number | null = null;
  private state: StorageState = 'unknown';
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(
    readonly path: string,
    readonly minFreeBytes: number,
    private readonly log: Logger,
  ) {}

  /** Checks once (so the gate is right before the writers start), then keeps checking. */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => {
      this.checking ??= this.check().finally(() => (this.checking = null));
    }, CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** True while writers may take events: space is above the threshold (or cannot be read). */
  get open(): boolean {
    return this.state !== 'full';
  }

  status(): StorageStatus {
    return { path: this.path, freeBytes: this.freeBytes, minFreeBytes: this.minFreeBytes, state: this.state };
  }

  /** A readiness reason when the gate is closed, naming the disk; null otherwise. */
  readinessReason(): string | null {
    if (this.state !== 'full') return null;
    return `disk of ${this.path} has ${this.freeBytes} bytes free, below storage.minFreeBytes (${this.minFreeBytes}): no new event is acked until space returns`;
  }

  private async check(): Promise<void> {
    let free: number;
    try {
      const stats = await statfs(this.path);
      free = stats.bavail * stats.bsize;
    } catch (error) {
      if (this.state !== 'unknown') this.log.warn({ path: this.path, err: error }, 'cannot read the free space of dataDir; acking as usual');
      this.freeBytes = null;
      this.setState('unknown');
      return;
    }
    this.freeBytes = free;
    // minFreeBytes 0 turns the gate off: free space is never below it.
    const next: StorageState = free < this.minFreeBytes ? 'full' : free < 2 * this.minFreeBytes ? 'low' : 'ok';
    this.setState(next);
  }

  private setState(next: StorageState): void {
    const previous = this.state;
    if (previous === next) return;
    this.state = next;
    setStorageOpen(this.gate, next !== 'full');
    const fields = { path: this.path, freeBytes: this.freeBytes, minFreeBytes: this.minFreeBytes };
    if (next === 'full') {
      this.log.warn(fields, `the disk of dataDir is below storage.minFreeBytes: no new event is acked (students are paused and stay connected) until space is freed`);
    } else if (next === 'low' && previous !== 'full') {
      this.log.warn(fields, 'the disk of dataDir is getting full (below twice storage.minFreeBytes): free space there before acks stop');
    } else if (previous === 'full') {
      this.log.warn(fields, 'the disk of dataDir has space again: acking events again');
    }
  }
}
