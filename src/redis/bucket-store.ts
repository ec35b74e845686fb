// The typed facade over the untradex function library: claim a session, write a batch of events
// into one bucket (and, with waitReplicas, WAIT for replicas), close an exam, count it.

import { RedisScriptError, RedisUnavailableError } from '../errors.js';
import { isWriteOutcome, WriteOutcome, type EventKind } from '../events/answer-event.js';
import { bucketKeys, bucketOf } from './bucket-keys.js';
import { isCluster, type RedisClient } from './redis-client.js';

export interface SessionClaim {
  /** The new session's epoch: events written with an older one come back StaleSession. */
  epoch: number;
  /** Highest durably stored seq of the student, 0 if none. */
  lastSeq: number;
  submitted: boolean;
  /** The student's bucket is closed: the exam is being finalized. */
  closed: boolean;
}

export interface EventToWrite {
  student: string;
  epoch: number;
  seq: number;
  kind: EventKind;
  question: string | null;
  value: string | null;
  clientTs: number | null;
  serverTs: number;
}

export interface ExamCounts {
  /** Students with at least one stored event. */
  students: number;
  /** Stored events. */
  events: number;
  closedBuckets: number;
}

export interface BucketStoreOptions {
  /**
   * Replicas that must have a write before writeBatch resolves (Redis WAIT); 0 (the default)
   * resolves once the primary has it. A write they do not confirm in time rejects, and the caller
   * (the writer) sends the batch again.
   */
  waitReplicas?: number;
}

const KIND_CODE: Record<EventKind, string> = { open: 'o', answer: 'a', submit: 's' };
const FIELDS_PER_EVENT = 8;
/**
 * How long one WAIT blocks its connection. Short: a timeout only means the batch is sent again
 * (its events come back Duplicate and are waited for again), and the writer logs every failed
 * batch, so a missing replica shows in the log within a second.
 */
const WAIT_TIMEOUT_MS = 1000;
/** A bucket counter the store bumps only to give WAIT a write to wait for (see writeAndWait). */
const REPLICATION_MARK_FIELD = '!replicated';
type Pipeline = ReturnType<RedisClient['pipeline']>;
/** Redirections and cluster states that say "ask again", not "your call is wrong". */
const TRANSIENT_REPLY = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|READONLY|MASTERDOWN) /;

export class BucketStore {
  private readonly redis: RedisClient;
  private readonly buckets: number;
  private readonly waitReplicas: number;

  constructor(redis: RedisClient, buckets: number, options: BucketStoreOptions = {}) {
    if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
    const waitReplicas = options.waitReplicas ?? 0;
    if (!Number.isInteger(waitReplicas) || waitReplicas < 0) throw new RangeError(`waitReplicas must be a non-negative integer, got ${waitReplicas}`);
    this.redis = redis;
    this.buckets = buckets;
    this.waitReplicas = waitReplicas;
  }

  async claimSession(exam: string, student: string): Promise<SessionClaim> {
    const key = bucketKeys.seq(exam, bucketOf(exam, student, this.buckets));
    const reply = await this.call('ux_hello', () => this.redis.fcall('ux_hello', 1, key, exam, student));
    return parseClaim(reply);
  }

  /**
   * Writes `events` (all of `bucket`) in one FCALL and returns one outcome per event, in order.
   * Calls are not awaited one by one: concurrent calls on one connection go out pipelined.
   */
  async writeBatch(exam: string, bucket: number, events: readonly EventToWrite[]): Promise<WriteOutcome[]> {
    const n = events.length;
    if (n === 0) return [];
    const args: string[] = new Array<string>(2 + n * FIELDS_PER_EVENT);
    args[0] = exam;
    args[1] = String(n);
    let a = 2;
    for (let i = 0; i < n; i++) {
      const e = events[i] as EventToWrite;
      args[a++] = e.student;
      args[a++] = String(e.epoch);
      args[a++] = String(e.seq);
      args[a++] = KIND_CODE[e.kind];
      args[a++] = e.question ?? '';
      args[a++] = e.value ?? '';
      args[a++] = e.clientTs === null ? '' : String(e.clientTs);
      args[a++] = String(e.serverTs);
    }
    const keys = [bucketKeys.log(exam, bucket), bucketKeys.ans(exam, bucket), bucketKeys.seq(exam, bucket)] as const;
    const reply =
      this.waitReplicas === 0
        ? await this.call('ux_write', () => this.redis.fcall('ux_write', 3, ...keys, ...args))
        : await this.callAndWait('ux_write', keys[2], this.redis.pipeline().fcall('ux_write', 3, ...keys, ...args), (r) => Array.isArray(r) && r.includes(WriteOutcome.Stored));
    if (!Array.isArray(reply) || reply.length !== n) {
      throw new RedisScriptError(`ux_write returned ${describe(reply)} for ${n} events`);
    }
    for (let i = 0; i < n; i++) {
      if (!isWriteOutcome(reply[i])) throw new RedisScriptError(`ux_write returned ${describe(reply[i])} as outcome ${i}`);
    }
    return reply as WriteOutcome[];
  }

  /** Closes every bucket of the exam; idempotent. Resolves once all of them are closed. */
  async closeExam(exam: string): Promise<void> {
    const calls: Promise<unknown>[] = [];
    for (let b = 0; b < this.buckets; b++) {
      const key = bucketKeys.seq(exam, b);
      // With waitReplicas the close must outlive a failover too: a lost close would let events
      // land in a bucket the export has already read.
      calls.push(
        this.waitReplicas === 0
          ? this.call('ux_close', () => this.redis.fcall('ux_close', 1, key, exam))
          : this.callAndWait('ux_close', key, this.redis.pipeline().fcall('ux_close', 1, key, exam), (r) => r === 1),
      );
    }
    const replies = await Promise.all(calls);
    replies.forEach((reply, b) => {
      if (reply !== 0 && reply !== 1) throw new RedisScriptError(`ux_close returned ${describe(reply)} for bucket ${b}`);
    });
  }

  async examCounts(exam: string): Promise<ExamCounts> {
    const calls: Promise<unknown>[] = [];
    for (let b = 0; b < this.buckets; b++) {
      calls.push(this.call('ux_counts', () => this.redis.fcall_ro('ux_counts', 1, bucketKeys.seq(exam, b))));
    }
    const counts: ExamCounts = { students: 0, events: 0, closedBuckets: 0 };
    for (const reply of await Promise.all(calls)) {
      const [students, events, closed] = expectIntegers<[number, number, number]>('ux_counts', reply, 3);
      counts.students += students;
      counts.events += events;
      counts.closedBuckets += closed;
    }
    return counts;
  }

  /**
   * A call and WAIT in one pipeline: on a Cluster both go to the node that owns the bucket, on
   * one connection, so WAIT counts the replicas that have this very write (WAIT covers the writes
   * its own connection made). Per bucket, not per batch: a keyless WAIT sent on its own would go
   * to a random node of a Cluster.
   *
   * When the call stored nothing, its outcomes rest on earlier writes (a Duplicate on an earlier,
   * unconfirmed attempt, maybe made on another connection; a nack on a stored submit or close),
   * and WAIT, as documented, waits only for this connection's own writes. Then a bucket counter
   * is bumped and waited for: replication is one ordered stream per primary, so a replica that has
   * the bump has everything the primary held before it. (Redis 7.0 in fact waits for the offset
   * of the connection's last command, write or not; the bump keeps to the documented contract.)
   */
  private async callAndWait(what: string, seqKey: string, pipeline: Pipeline, wrote: (reply: unknown) => boolean): Promise<unknown> {
    const [reply, acked] = await this.pipelineWithWait(what, pipeline);
    if (wrote(reply)) {
      this.checkReplicas(acked);
      return reply;
    }
    const [, markAcked] = await this.pipelineWithWait('replication mark', this.redis.pipeline().hincrby(seqKey, REPLICATION_MARK_FIELD, 1));
    this.checkReplicas(markAcked);
    return reply;
  }

  /** Appends WAIT to `pipeline`, runs it, and returns the first command's reply and WAIT's count. */
  private async pipelineWithWait(what: string, pipeline: Pipeline): Promise<[unknown, number]> {
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await pipeline.wait(this.waitReplicas, WAIT_TIMEOUT_MS).exec();
    } catch (error) {
      throw new RedisUnavailableError(`${what} with WAIT failed: ${(error as Error).message}`, { cause: error });
    }
    const [first, wait] = results ?? [];
    if (first === undefined || wait === undefined) throw new RedisUnavailableError(`${what} with WAIT got no replies`);
    for (const [error] of [first, wait]) if (error !== null) throw this.classify(what, error);
    return [first[1], Number(wait[1])];
  }

  private checkReplicas(acked: number): void {
    if (acked < this.waitReplicas) {
      throw new RedisUnavailableError(`only ${acked} of ${this.waitReplicas} replicas confirmed the write within ${WAIT_TIMEOUT_MS} ms; it will be sent again`);
    }
  }

  private classify(what: string, error: Error): RedisScriptError | RedisUnavailableError {
    const message = `${what} failed: ${error.message}`;
    // A single command follows MOVED by itself; a pipeline whose WAIT succeeded on the old owner
    // does not, so have the slot map refreshed before the writer sends the batch again.
    if (/^(MOVED|ASK) /.test(error.message) && isCluster(this.redis)) this.redis.refreshSlotsCache();
    if (error.name === 'ReplyError' && !TRANSIENT_REPLY.test(error.message)) return new RedisScriptError(message, { cause: error });
    return new RedisUnavailableError(message, { cause: error });
  }

  /**
   * Runs one FCALL. An error reply (a Lua error, a missing library, OOM) becomes RedisScriptError;
   * anything else (the connection was closed for good) becomes RedisUnavailableError.
   */
  private async call(fn: string, run: () => Promise<unknown>): Promise<unknown> {
    try {
      return await run();
    } catch (error) {
      const message = `FCALL ${fn} failed: ${error instanceof Error ? error.message : String(error)}`;
      if (error instanceof Error && error.name === 'ReplyError') throw new RedisScriptError(message, { cause: error });
      throw new RedisUnavailableError(message, { cause: error });
    }
  }
}

/** ux_hello's reply: [epoch, "lastSeq", submitted 0|1, closed 0|1]; lastSeq is a string (see ux_hello). */
function parseClaim(reply: unknown): SessionClaim {
  if (Array.isArray(reply) && reply.length === 4) {
    const [epoch, lastSeqText, submitted, closed] = reply as unknown[];
    const lastSeq = typeof lastSeqText === 'string' && /^\d{1,16}$/.test(lastSeqText) ? Number(lastSeqText) : Number.NaN;
    if (
      Number.isSafeInteger(epoch) && (epoch as number) >= 1 && Number.isSafeInteger(lastSeq) &&
      (submitted === 0 || submitted === 1) && (closed === 0 || closed === 1)
    ) {
      return { epoch: epoch as number, lastSeq, submitted: submitted === 1, closed: closed === 1 };
    }
  }
  throw new RedisScriptError(`ux_hello returned ${describe(reply)}; expected [epoch, "lastSeq", 0|1, 0|1]`);
}

function expectIntegers<T extends number[]>(fn: string, reply: unknown, length: T['length']): T {
  if (!Array.isArray(reply) || reply.length !== length || !reply.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw new RedisScriptError(`${fn} returned ${describe(reply)}; expected ${length} non-negative integers`);
  }
  return reply as T;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}
