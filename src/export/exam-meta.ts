// An exam's lifecycle and export progress as they live in Redis (`ux:{<exam>}:meta`), so every
// gateway process and every restart sees the same state; plus the lease that lets one job run.

import { bucketKeys } from '../redis/bucket-keys.js';
import type { RedisClient } from '../redis/redis-client.js';

/** States stored in meta; `open` is the absence of a state. */
export type StoredExamState = 'closing' | 'exporting' | 'exported' | 'failed';

export interface ExamMeta {
  state: StoredExamState | null;
  /** Students and events when the export finished: what the exam reads once its data is purged. */
  finalCounts: { students: number; events: number } | null;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  /** Rows committed per done bucket. */
  doneBuckets: Map<number, number>;
}

const DONE_PREFIX = 'done:';

export function lockKey(exam: string): string {
  // Same hash tag as meta, so both live on one Redis Cluster shard.
  return `ux:{${exam}}:lock`;
}

export class ExamMetaStore {
  constructor(private readonly redis: RedisClient) {}

  async read(exam: string): Promise<ExamMeta> {
    const fields = await this.redis.hgetall(bucketKeys.meta(exam));
    const doneBuckets = new Map<number, number>();
    for (const [field, value] of Object.entries(fields)) {
      if (field.startsWith(DONE_PREFIX)) doneBuckets.set(Number(field.slice(DONE_PREFIX.length)), Number(value));
    }
    const number = (value: string | undefined) => (value === undefined || value === '' ? null : Number(value));
    const finalStudents = number(fields.finalStudents);
    const finalEvents = number(fields.finalEvents);
    return {
      state: (fields.state as StoredExamState | undefined) ?? null,
      finalCounts: finalStudents === null || finalEvents === null ? null : { students: finalStudents, events: finalEvents },
      startedAt: number(fields.startedAt),
      finishedAt: number(fields.finishedAt),
      error: fields.error === undefined || fields.error === '' ? null : fields.error,
      doneBuckets,
    };
  }

  /** Moves to `state`; `startedAt` is set once, on the first finalize. */
  async setState(exam: string, state: StoredExamState, extra: { error?: string | null; finishedAt?: number | null } = {}): Promise<void> {
    const key = bucketKeys.meta(exam);
    const pipeline = this.redis.multi().hset(key, 'state', state).hsetnx(key, 'startedAt', String(Date.now()));
    if (extra.error !== undefined) pipeline.hset(key, 'error', extra.error ?? '');
    if (extra.finishedAt !== undefined) pipeline.hset(key, 'finishedAt', extra.finishedAt === null ? '' : String(extra.finishedAt));
    await pipeline.exec();
  }

  /** Keeps the exam's counts as they were when it was exported: purge and retention remove the data. */
  async recordFinalCounts(exam: string, counts: { students: number; events: number }): Promise<void> {
    await this.redis.hset(bucketKeys.meta(exam), 'finalStudents', String(counts.students), 'finalEvents', String(counts.events));
  }

  /** Records a bucket as exported; called only after the sink committed its rows. */
  async markBucketDone(exam: string, bucket: number, rows: number): Promise<void> {
    await this.redis.hset(bucketKeys.meta(exam), `${DONE_PREFIX}${bucket}`, String(rows));
  }

  /** Takes the export lease if nobody holds it; the holder renews it while the job runs. */
  async acquireLease(exam: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(lockKey(exam), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Extends the lease only if `owner` still holds it (compare-and-set in one script). */
  async renewLease(exam: string, owner: string, ttlMs: number): Promise<boolean> {
    const renewed = await this.redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end",
      1,
      lockKey(exam),
      owner,
      String(ttlMs),
    );
    return renewed === 1;
  }

  async releaseLease(exam: string, owner: string): Promise<void> {
    await this.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end", 1, lockKey(exam), owner);
  }

  async leaseHolder(exam: string): Promise<string | null> {
    return this.redis.get(lockKey(exam));
  }

  /**
   * The keys purge removes and retention expires: the lease and each bucket's log, answers and
   * student states. Not the meta (the exam's final state and counts) nor the buckets' close
   * markers: they are the exam's tombstone, and keep an exported exam from ever opening again.
   */
  dataKeys(exam: string, buckets: number): string[] {
    const keys = [lockKey(exam)];
    for (let bucket = 0; bucket < buckets; bucket += 1) {
      keys.push(bucketKeys.log(exam, bucket), bucketKeys.ans(exam, bucket), bucketKeys.seq(exam, bucket));
    }
    return keys;
  }
}
