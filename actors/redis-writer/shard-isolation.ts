// Keeps one Redis Cluster shard's trouble (a failover, a slow node, replicas that cannot confirm)
// to the students whose buckets live there: deadlines per bucket call, buckets marked down, sessions held back.

import type { EventToWrite } from '../../src/redis/bucket-store.js';

/** How long a bucket whose call failed or passed its deadline is answered Unavailable without a call. */
export const SHARD_PROBE_MS = 500;
/** A held-back session nobody resent for this long is forgotten (its connection is long closed). */
export const HOLD_MS = 60_000;

export type CallResult<T> = { ok: true; value: T } | { ok: false; error: unknown } | { ok: false; late: true };

interface DownBucket {
  /** Until then its events are refused without a call; after it, the next batch probes. */
  until: number;
  since: number;
}

interface Hold {
  epoch: number;
  bucket: number;
  at: number;
}

export interface ShardIsolationStatus {
  /** Sessions (exam, student) answered Unavailable whose later events are refused until they reconnect. */
  heldBack: number;
  /** The same, per bucket ("exam/bucket" -> sessions). */
  heldBackByBucket: Record<string, number>;
  /** Buckets answered Unavailable since their last failed or late call ("exam/bucket"). */
  downBuckets: string[];
  /** Events answered Unavailable (err busy, close 1013), since the writer started. */
  unavailable: number;
  /** Bucket calls that passed writers.shardWaitMs. */
  lateCalls: number;
}

export class ShardIsolation {
  private readonly down = new Map<string, DownBucket>();
  private readonly holds = new Map<string, Hold>();
  private unavailable = 0;
  private lateCalls = 0;
  private lastPrune = 0;

  constructor(
    private readonly shardWaitMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Per event of one bucket's part of a batch, in order: true when it must be answered Unavailable
   * without a call, because its bucket is down or an earlier event of its session was refused
   * (rule 2: were it stored, the refused one's resend would be taken for a duplicate).
   */
  refuseAtOnce(exam: string, bucket: number, events: readonly EventToWrite[]): boolean[] {
    const now = this.now();
    this.prune(now);
    const down = this.down.get(bucketKey(exam, bucket));
    const bucketDown = down !== undefined && now < down.until;
    return events.map((event) => {
      const key = sessionKey(exam, event.student);
      const hold = this.holds.get(key);
      if (hold !== undefined && event.epoch > hold.epoch) this.holds.delete(key); // a newer session: it starts from lastSeq
      return bucketDown || (hold !== undefined && event.epoch <= hold.epoch);
    });
  }

  /**
   * Settles every call, each within shardWaitMs of now. A call still running at the deadline is
   * answered late and its result ignored: if it stored, the reconnect's lastSeq covers it; if a
   * reconnect bumped the epoch first, it comes back StaleSession and the resend stores it.
   */
  async within<T>(calls: readonly Promise<T>[]): Promise<CallResult<T>[]> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<CallResult<T>>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, late: true }), this.shardWaitMs);
    });
    try {
      // The handlers stay attached after the deadline, so a late rejection is never unhandled.
      const results = await Promise.all(calls.map((call) => Promise.race([call.then((value): CallResult<T> => ({ ok: true, value }), (error: unknown): CallResult<T> => ({ ok: false, error })), deadline])));
      for (const result of results) if (!result.ok && 'late' in result) this.lateCalls += 1;
      return results;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The bucket's call failed or was late: refuse its events for a probe interval. True when it was up before. */
  markDown(exam: string, bucket: number): boolean {
    const now = this.now();
    const key = bucketKey(exam, bucket);
    const previous = this.down.get(key);
    this.down.set(key, { until: now + SHARD_PROBE_MS, since: previous?.since ?? now });
    return previous === undefined;
  }

  /** The bucket's call succeeded: how long it was down (ms), or null when it was up. */
  markUp(exam: string, bucket: number): number | null {
    const key = bucketKey(exam, bucket);
    const previous = this.down.get(key);
    if (previous === undefined) return null;
    this.down.delete(key);
    return this.now() - previous.since;
  }

  /** Records an Unavailable answer: later events of this session (epoch <= this one) are refused too. */
  refused(exam: string, bucket: number, event: EventToWrite): void {
    this.unavailable += 1;
    const key = sessionKey(exam, event.student);
    const hold = this.holds.get(key);
    if (hold === undefined || hold.epoch <= event.epoch) this.holds.set(key, { epoch: event.epoch, bucket, at: this.now() });
  }

  status(): ShardIsolationStatus {
    this.prune(this.now());
    const heldBackByBucket: Record<string, number> = {};
    for (const [key, hold] of this.holds) {
      const bucket = bucketKey(key.slice(0, key.indexOf('\n')), hold.bucket);
      heldBackByBucket[bucket] = (heldBackByBucket[bucket] ?? 0) + 1;
    }
    return { heldBack: this.holds.size, heldBackByBucket, downBuckets: [...this.down.keys()], unavailable: this.unavailable, lateCalls: this.lateCalls };
  }

  private prune(now: number): void {
    if (now - this.lastPrune < 1_000) return;
    this.lastPrune = now;
    for (const [key, hold] of this.holds) if (now - hold.at > HOLD_MS) this.holds.delete(key);
  }
}

function bucketKey(exam: string, bucket: number): string {
  return `${exam}/${bucket}`;
}

function sessionKey(exam: string, student: string): string {
  return `${exam}\n${student}`;
}
