// The typed facade over the untradex function library: claim a session, write a batch of events
// into one bucket or several in one call (and, with waitReplicas, WAIT for replicas), close an exam, count it.

import { RedisScriptError, RedisUnavailableError, UntradexError } from '../errors.js';
import { isWriteOutcome, WriteOutcome, type AnswerEvent, type EventKind } from '../events/answer-event.js';
import { bucketKeys, bucketOf } from './bucket-keys.js';
import { ExamIndex } from './exam-index.js';
import { parseStudentState } from './student-state.js';
import { isCluster, type RedisClient } from './redis-client.js';
import { ReplicatedCalls } from './replicated-calls.js';

export interface SessionClaim {
  /**
   * The hello lost to a newer one (rule 7): the live session's hello reached a gateway after
   * this one did. Nothing was claimed; this connection is the stale one and gets 4409.
   */
  stale: boolean;
  /** The new session's epoch (0 when stale): events written with an older one come back StaleSession. */
  epoch: number;
  /** Highest durably stored seq of the student, 0 if none. */
  lastSeq: number;
  submitted: boolean;
  /** The student's bucket is closed: the exam is being finalized. */
  closed: boolean;
}

/** One event as its bucket's write takes it: the exam is the call's, the epoch the writing session's. */
export interface EventToWrite extends Omit<AnswerEvent, 'exam'> {
  epoch: number;
}

/** An event as it came through a ring or off a socket (with its session's epoch), as the write function takes it. */
export function eventToWrite({ event, epoch }: { event: AnswerEvent; epoch: number }): EventToWrite {
  return {
    student: event.student,
    epoch,
    seq: event.seq,
    kind: event.kind,
    question: event.question,
    value: event.value,
    clientTs: event.clientTs,
    serverTs: event.serverTs,
  };
}

export interface ExamCounts {
  /** Students with at least one stored event. */
  students: number;
  /** Stored events. */
  events: number;
  closedBuckets: number;
  /** Students whose submit is stored. */
  submitted: number;
  /** Students with a live session on some gateway process, as the presence sets say now. */
  connected: number;
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

export class BucketStore {
  private readonly redis: RedisClient;
  private readonly buckets: number;
  /** Set when waitReplicas > 0: writes and closes then go through it. */
  private readonly replicated: ReplicatedCalls | null;
  /** The exam list: an exam is registered by the first session claimed for it here. */
  readonly examIndex: ExamIndex;

  constructor(redis: RedisClient, buckets: number, options: BucketStoreOptions = {}) {
    if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
    const waitReplicas = options.waitReplicas ?? 0;
    if (!Number.isInteger(waitReplicas) || waitReplicas < 0) throw new RangeError(`waitReplicas must be a non-negative integer, got ${waitReplicas}`);
    this.redis = redis;
    this.buckets = buckets;
    this.replicated = waitReplicas > 0 ? new ReplicatedCalls(redis, waitReplicas) : null;
    this.examIndex = new ExamIndex(redis);
  }

  /**
   * Claims a new session for the student, unless a session whose hello reached a gateway later
   * than `helloUs` (µs since the epoch; default now) is live. With waitReplicas the claim is
   * confirmed by the replicas before it resolves: the welcome's lastSeq must survive a failover
   * like an ack, or a client would drop events that a promoted replica never had.
   */
  async claimSession(exam: string, student: string, helloUs: number = wallClockMicros()): Promise<SessionClaim> {
    const bucket = bucketOf(exam, student, this.buckets);
    const keys = [bucketKeys.seq(exam, bucket), bucketKeys.closed(exam, bucket), bucketKeys.roster(exam, bucket)] as const;
    const args = [exam, student, String(helloUs)];
    // Sent alongside the claim, not before it: once per exam and process, and no event of the exam
    // can be stored before a claim, so the exam is listed before it has data.
    const registered = this.examIndex.register(exam);
    const reply =
      this.replicated === null
        ? await callFunction('ux_hello', () => this.redis.fcall('ux_hello', keys.length, ...keys, ...args))
        : await this.replicated.run({ fn: 'ux_hello', keys, args, markKey: keys[0], wrote: (r) => Array.isArray(r) && typeof r[0] === 'number' && r[0] > 0 });
    await registered;
    return parseClaim(reply);
  }

  /**
   * The epoch of each student's live session as Redis holds it now (0 when none), in the order
   * asked: lets a gateway that may have missed announcements check the sessions it holds.
   */
  async liveEpochs(students: readonly { exam: string; student: string }[]): Promise<number[]> {
    const replies = await Promise.all(
      students.map(({ exam, student }) => this.redis.hget(bucketKeys.seq(exam, bucketOf(exam, student, this.buckets)), student)),
    );
    return replies.map((packed) => (packed === null ? 0 : (parseStudentState(packed)?.epoch ?? 0)));
  }

  /**
   * Writes `events` (all of `bucket`) in one FCALL and returns one outcome per event, in order.
   * Calls are not awaited one by one: concurrent calls on one connection go out pipelined.
   */
  async writeBatch(exam: string, bucket: number, events: readonly EventToWrite[]): Promise<WriteOutcome[]> {
    const n = events.length;
    if (n === 0) return [];
    const args: string[] = [];
    pushBucketArgs(args, exam, events);
    const keys = writeKeys(exam, bucket);
    const reply =
      this.replicated === null
        ? await callFunction('ux_write', () => this.redis.fcall('ux_write', keys.length, ...keys, ...args))
        : await this.replicated.run({ fn: 'ux_write', keys, args, markKey: keys[2], wrote: (r) => Array.isArray(r) && r.includes(WriteOutcome.Stored) });
    return parseOutcomes('ux_write', reply, n);
  }

  /** Whether writeBuckets sends one call for several buckets (a single Redis without waitReplicas). */
  get writesBucketsTogether(): boolean {
    return !isCluster(this.redis) && this.replicated === null;
  }

  /**
   * Writes several buckets' events (each group a distinct exam and bucket) in one FCALL of
   * ux_write_many where the buckets may share a call, and returns each group's outcomes. Either
   * every group is written or, when the call raises, none is. On a Cluster (the buckets lie in
   * different slots) or with waitReplicas it is one writeBatch per group, and any that fails
   * rejects the whole.
   */
  async writeBuckets(groups: readonly BucketWrite[]): Promise<WriteOutcome[][]> {
    const live = groups.filter((group) => group.events.length > 0);
    if (live.length <= 1 || !this.writesBucketsTogether) {
      return Promise.all(groups.map((group) => this.writeBatch(group.exam, group.bucket, group.events)));
    }
    const keys: string[] = [];
    const args: string[] = [String(live.length)];
    let total = 0;
    for (const group of live) {
      keys.push(...writeKeys(group.exam, group.bucket));
      pushBucketArgs(args, group.exam, group.events);
      total += group.events.length;
    }
    const reply = await callFunction('ux_write_many', () => this.redis.fcall('ux_write_many', keys.length, ...keys, ...args));
    const outcomes = parseOutcomes('ux_write_many', reply, total);
    let offset = 0;
    return groups.map((group) => {
      const part = outcomes.slice(offset, offset + group.events.length);
      offset += group.events.length;
      return part;
    });
  }

  /** Closes every bucket of the exam; idempotent. Resolves once all of them are closed. */
  async closeExam(exam: string): Promise<void> {
    const results = await this.closeBuckets(exam, Array.from({ length: this.buckets }, (_, bucket) => bucket));
    const failed = results.find((result) => !result.ok);
    if (failed !== undefined && !failed.ok) throw failed.error;
  }

  /**
   * Closes each of `buckets`, and says per bucket whether it is closed: on a Cluster one shard's
   * outage fails only its buckets, and the caller retries those while the rest stay closed.
   */
  async closeBuckets(exam: string, buckets: readonly number[]): Promise<BucketCloseResult[]> {
    const calls = buckets.map((b) => {
      const key = bucketKeys.closed(exam, b);
      // With waitReplicas the close must outlive a failover too: a lost close would let events
      // land in a bucket the export has already read.
      return this.replicated === null
        ? callFunction('ux_close', () => this.redis.fcall('ux_close', 1, key, exam))
        : this.replicated.run({ fn: 'ux_close', keys: [key], args: [exam], markKey: bucketKeys.seq(exam, b), wrote: (r) => r === 1 });
    });
    const settled = await Promise.allSettled(calls);
    return settled.map((outcome, index): BucketCloseResult => {
      const bucket = buckets[index]!;
      if (outcome.status === 'rejected') return { bucket, ok: false, error: asUntradexError(outcome.reason) };
      if (outcome.value !== 0 && outcome.value !== 1) return { bucket, ok: false, error: new RedisScriptError(`ux_close returned ${describe(outcome.value)} for bucket ${bucket}`) };
      return { bucket, ok: true };
    });
  }

  /**
   * Sums the bucket counters kept by ux_write and counts the live presence entries: one read-only
   * call per bucket, whatever the number of students. `now` decides which holders (connection actors) are alive.
   */
  async examCounts(exam: string, now: number = Date.now()): Promise<ExamCounts> {
    const { counts } = await this.examCountsWithin(exam, null, now);
    return counts;
  }

  /**
   * examCounts, but a bucket that has not answered within `waitMs` (its Cluster shard is down or
   * failing over) is left out of the sums and named in `unanswered`, so a status page answers
   * during an outage. null waits for every bucket. A late call is left to finish on its own.
   */
  async examCountsWithin(exam: string, waitMs: number | null, now: number = Date.now()): Promise<{ counts: ExamCounts; unanswered: number[] }> {
    const at = String(Math.floor(now));
    const calls: Promise<unknown>[] = [];
    for (let b = 0; b < this.buckets; b++) {
      const keys = [bucketKeys.seq(exam, b), bucketKeys.closed(exam, b), bucketKeys.holders(exam, b)];
      calls.push(callFunction('ux_counts', () => this.redis.fcall_ro('ux_counts', keys.length, ...keys, at)));
    }
    const LATE = Symbol('late');
    let timer: NodeJS.Timeout | undefined;
    const deadline = waitMs === null ? null : new Promise<typeof LATE>((resolve) => (timer = setTimeout(() => resolve(LATE), waitMs)));
    const counts: ExamCounts = { students: 0, events: 0, closedBuckets: 0, submitted: 0, connected: 0 };
    const unanswered: number[] = [];
    try {
      // A late call's rejection is handled here too, so it is never unhandled after the deadline.
      const replies = await Promise.all(calls.map((call) => (deadline === null ? call : Promise.race([call.catch((error: unknown) => ({ [FAILED]: error })), deadline]))));
      replies.forEach((reply, b) => {
        if (reply === LATE) return void unanswered.push(b);
        if (typeof reply === 'object' && reply !== null && FAILED in reply) {
          const error = (reply as { [FAILED]: unknown })[FAILED];
          // A shard that refuses for now (down, failing over) is the outage this method reports.
          if (error instanceof RedisUnavailableError) return void unanswered.push(b);
          throw error;
        }
        const [students, events, closed, submitted, connected] = expectIntegers<[number, number, number, number, number]>('ux_counts', reply, 5);
        counts.students += students;
        counts.events += events;
        counts.closedBuckets += closed;
        counts.submitted += submitted;
        counts.connected += connected;
      });
    } finally {
      clearTimeout(timer);
    }
    return { counts, unanswered };
  }
}

/** What closing one bucket did: closed (now or before), or the error that kept it open. */
export type BucketCloseResult = { bucket: number; ok: true } | { bucket: number; ok: false; error: UntradexError };

const FAILED = Symbol('failed');

function asUntradexError(error: unknown): UntradexError {
  return error instanceof UntradexError ? error : new RedisUnavailableError(`ux_close failed: ${(error as Error).message}`, { cause: error });
}

/**
 * Runs one FCALL. An error reply (a Lua error, a missing library, OOM) becomes RedisScriptError;
 * anything else (the connection was closed for good) becomes RedisUnavailableError.
 */
export async function callFunction(fn: string, run: () => Promise<unknown>): Promise<unknown> {
  try {
    return await run();
  } catch (error) {
    const message = `FCALL ${fn} failed: ${error instanceof Error ? error.message : String(error)}`;
    if (error instanceof Error && error.name === 'ReplyError') throw new RedisScriptError(message, { cause: error });
    throw new RedisUnavailableError(message, { cause: error });
  }
}

/**
 * Now as µs since the epoch, the resolution that orders two hellos of one student a network round
 * trip apart on different threads (Date.now() would often give both the same ms). Every thread's
 * timeOrigin is read from the same system clock, so the figures are comparable across threads and
 * processes of one box; across boxes they are as good as the clocks' sync (NTP: well under a ms).
 */
export function wallClockMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** ux_hello's reply: [epoch (0: stale), "lastSeq", submitted 0|1, closed 0|1]; lastSeq is a string (see ux_hello). */
function parseClaim(reply: unknown): SessionClaim {
  if (Array.isArray(reply) && reply.length === 4) {
    const [epoch, lastSeqText, submitted, closed] = reply as unknown[];
    const lastSeq = typeof lastSeqText === 'string' && /^\d{1,16}$/.test(lastSeqText) ? Number(lastSeqText) : Number.NaN;
    if (
      Number.isSafeInteger(epoch) && (epoch as number) >= 0 && Number.isSafeInteger(lastSeq) &&
      (submitted === 0 || submitted === 1) && (closed === 0 || closed === 1)
    ) {
      return { stale: epoch === 0, epoch: epoch as number, lastSeq, submitted: submitted === 1, closed: closed === 1 };
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

export function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}

/** One bucket's share of writeBuckets. */
export interface BucketWrite {
  exam: string;
  bucket: number;
  events: readonly EventToWrite[];
}

/** ux_write's keys of one bucket, in the function's order. */
function writeKeys(exam: string, bucket: number): [string, string, string, string, string, string] {
  return [
    bucketKeys.log(exam, bucket),
    bucketKeys.ans(exam, bucket),
    bucketKeys.seq(exam, bucket),
    bucketKeys.closed(exam, bucket),
    bucketKeys.qidx(exam, bucket),
    bucketKeys.roster(exam, bucket),
  ];
}

/** Appends ux_write's arguments for one bucket: exam, count, then 8 fields per event. */
function pushBucketArgs(args: string[], exam: string, events: readonly EventToWrite[]): void {
  args.push(exam, String(events.length));
  for (const e of events) {
    args.push(
      e.student,
      String(e.epoch),
      String(e.seq),
      KIND_CODE[e.kind],
      e.question ?? '',
      e.value ?? '',
      e.clientTs === null ? '' : String(e.clientTs),
      String(e.serverTs),
    );
  }
}

/** The outcomes of a write call, checked: one known outcome per event. */
function parseOutcomes(fn: string, reply: unknown, n: number): WriteOutcome[] {
  if (!Array.isArray(reply) || reply.length !== n) {
    throw new RedisScriptError(`${fn} returned ${describe(reply)} for ${n} events`);
  }
  for (let i = 0; i < n; i++) {
    // BadEvent is the writer's verdict, never the function's: a 5 from Redis is a malformed reply.
    if (!isWriteOutcome(reply[i]) || reply[i] === WriteOutcome.BadEvent) throw new RedisScriptError(`${fn} returned ${describe(reply[i])} as outcome ${i}`);
  }
  return reply as WriteOutcome[];
}
