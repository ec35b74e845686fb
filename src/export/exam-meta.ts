// An exam's lifecycle and export progress as they live in Redis (`ux:{<exam>}:meta`), so every
// gateway process and every restart sees the same state; plus the lease that lets one job run.

import { bucketKeys, bucketKeysOf, type BucketKeyKind } from '../redis/bucket-keys.js';
import type { RedisClient } from '../redis/redis-client.js';

/** What purge removes of each bucket: all but `closed`, the bucket's tombstone (see dataKeys). */
const PURGED_KEY_KINDS: readonly BucketKeyKind[] = ['log', 'ans', 'seq', 'qidx', 'roster', 'present', 'holders'];

/** States stored in meta; `open` is the absence of a state. */
export type StoredExamState = 'closing' | 'exporting' | 'exported' | 'failed';

export interface ExamMeta {
  state: StoredExamState | null;
  /**
   * Students, events and submitted students when the export finished: what the exam reads once its
   * data is purged. `submitted` is null for an exam exported before it was recorded.
   */
  finalCounts: FinalCounts | null;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  /** Rows committed per done bucket. */
  doneBuckets: Map<number, number>;
}

export interface FinalCounts {
  students: number;
  events: number;
  submitted: number | null;
}

const DONE_PREFIX = 'done:';

/** What a fenced write did: written, refused because the lease is another's, or the exam is exported. */
export type FencedWrite = 'written' | 'not_lease_holder' | 'exported';

/** An ARGV value meaning "leave this field as it is" (field values never hold a NUL). */
const UNCHANGED = '\u0000';

// KEYS: meta, lock. ARGV: owner, then the write. The lease check and the write are one script, so
// no other process can take the lease between them (Redis runs one script at a time).
const FENCE = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'state') == 'exported' then return -1 end
`;

const FENCED_SET_STATE = `${FENCE}
redis.call('HSET', KEYS[1], 'state', ARGV[2])
redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[3])
if ARGV[4] ~= '\\0' then redis.call('HSET', KEYS[1], 'error', ARGV[4]) end
if ARGV[5] ~= '\\0' then redis.call('HSET', KEYS[1], 'finishedAt', ARGV[5]) end
return 1`;

const FENCED_MARK_DONE = `${FENCE}
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1`;

function fencedOutcome(reply: unknown): FencedWrite {
  if (reply === 1) return 'written';
  if (reply === -1) return 'exported';
  return 'not_lease_holder';
}

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
      finalCounts: finalStudents === null || finalEvents === null ? null : { students: finalStudents, events: finalEvents, submitted: number(fields.finalSubmitted) },
      startedAt: number(fields.startedAt),
      finishedAt: number(fields.finishedAt),
      error: fields.error === undefined || fields.error === '' ? null : fields.error,
      doneBuckets,
    };
  }

  /**
   * Marks the exam `closing` when it has no state yet (the first finalize). Needs no lease: it only
   * ever moves an exam out of `open`, never back, and never touches a later state.
   */
  async markClosing(exam: string): Promise<void> {
    const key = bucketKeys.meta(exam);
    await this.redis.multi().hsetnx(key, 'state', 'closing').hsetnx(key, 'startedAt', String(Date.now())).exec();
  }

  /**
   * Moves to `state` only while `owner` holds the export lease, checked inside Redis in the same
   * script (a stale owner, whose lease lapsed and was taken, changes nothing), and never away from
   * `exported`. Returns what happened; `startedAt` is set once, on the first finalize.
   */
  async setState(
    exam: string,
    owner: string,
    state: Exclude<StoredExamState, 'closing'>,
    extra: { error?: string | null; finishedAt?: number | null } = {},
  ): Promise<FencedWrite> {
    const reply = await this.redis.eval(
      FENCED_SET_STATE,
      2,
      bucketKeys.meta(exam),
      lockKey(exam),
      owner,
      state,
      String(Date.now()),
      extra.error === undefined ? UNCHANGED : (extra.error ?? ''),
      extra.finishedAt === undefined ? UNCHANGED : extra.finishedAt === null ? '' : String(extra.finishedAt),
    );
    return fencedOutcome(reply);
  }

  /** Records a bucket as exported (after the sink committed its rows), fenced like setState. */
  async markBucketDone(exam: string, bucket: number, rows: number, owner: string): Promise<FencedWrite> {
    const reply = await this.redis.eval(FENCED_MARK_DONE, 2, bucketKeys.meta(exam), lockKey(exam), owner, `${DONE_PREFIX}${bucket}`, String(rows));
    return fencedOutcome(reply);
  }

  /** Keeps the exam's counts as they were when it was exported: purge and retention remove the data. */
  async recordFinalCounts(exam: string, counts: { students: number; events: number; submitted: number }): Promise<void> {
    await this.redis.hset(bucketKeys.meta(exam), 'finalStudents', String(counts.students), 'finalEvents', String(counts.events), 'finalSubmitted', String(counts.submitted));
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
   * The keys purge removes and retention expires: the lease and each bucket's log, answers,
   * student states, answer index, roster and presence. Not the meta (the exam's final state and
   * counts), the buckets' close markers nor the exam's place in the exam index: they are the exam's
   * tombstone, keep an exported exam from ever opening again, and keep it in the exam list as exported.
   */
  dataKeys(exam: string, buckets: number): string[] {
    const keys = [lockKey(exam)];
    for (let bucket = 0; bucket < buckets; bucket += 1) {
      keys.push(...bucketKeysOf(exam, bucket, PURGED_KEY_KINDS));
    }
    return keys;
  }
}
