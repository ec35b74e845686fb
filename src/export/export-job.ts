// One exam's export: the buckets not yet done are shared among the exporters, each bucket retried
// with capped backoff on transient failures, and recorded as done only after its rows committed.

import type { Logger } from 'pino';
import { ActorCrashedError, deserializeError, ExportError, ExportLeaseLostError, SinkError, UntradexError, type SerializedError } from '../errors.js';
import { bucketKeys } from '../redis/bucket-keys.js';
import type { ExamMetaStore } from './exam-meta.js';
import type { ExportFigures } from './export-figures.js';
import { shardRetryDelay, type ShardWait } from './shard-wait.js';
import { traceCarrier, type TraceCarrier } from '../telemetry/tracing.js';

export interface BucketTask {
  exam: string;
  bucket: number;
  /** The finalize span's trace context, so the exporter thread's bucket span is its child. */
  trace?: TraceCarrier;
}

/**
 * What an exporter answers for one bucket. `load` says how the rows went in: `insert` on a bucket's
 * first export, `upsert` when an earlier attempt had committed them already (a crash between the
 * commit and the done mark). A failure crosses the thread as a serialized error and is rebuilt here
 * with its class, so `transient` is the error's own.
 */
export type BucketTaskResult = BucketTaskDone | { ok: false; error: SerializedError };
export type BucketTaskDone = { ok: true; rows: number; load?: 'insert' | 'upsert' };

/** Whether the same bucket may succeed on another attempt. */
export function isRetryable(error: UntradexError): boolean {
  if (error instanceof SinkError || error instanceof ExportError) return error.transient;
  // A Redis shard that does not answer, or an exporter thread that died: the bucket never committed.
  return error.code === 'UX_ERR_REDIS_UNAVAILABLE' || error.code === 'UX_ERR_ACTOR_CRASHED';
}

/**
 * Runs one bucket's export somewhere (a piscina pool in production). Rejects with
 * ActorCrashedError if the worker died, ShutdownError if the pool is stopping.
 */
export interface BucketTaskRunner {
  run(task: BucketTask): Promise<BucketTaskResult>;
}

/** Attempt number (1-based) in, delay in ms out; null gives up. */
export type ExportBackoff = (attempt: number) => number | null;

export function cappedExponentialBackoff(options: { attempts: number; baseDelayMs: number; maxDelayMs: number }): ExportBackoff {
  return (attempt) => {
    if (attempt >= options.attempts) return null;
    const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
    // Full jitter: exporters retrying against one recovering database should not retry in step.
    return Math.round(Math.random() * ceiling);
  };
}

export interface ExportProgress {
  rows: number;
  bucketsDone: number;
  rowsPerSecond: number;
}

export class ExportJob {
  private rowsThisRun = 0;
  private bucketsUpserted = 0;
  private readonly startedAt = Date.now();
  private failure: UntradexError | null = null;
  /** Buckets whose Redis shard does not answer, since when: retried until it does. */
  private readonly shardWaits = new Map<number, number>();

  constructor(
    private readonly exam: string,
    private readonly pending: readonly number[],
    private readonly concurrency: number,
    private readonly runner: BucketTaskRunner,
    private readonly meta: ExamMetaStore,
    private readonly backoff: ExportBackoff,
    private readonly log: Logger,
    /** The export lease's owner token: every bucket-done mark is fenced by it. */
    private readonly owner: string,
    /** This process's export figures (/metrics), when someone keeps them. */
    private readonly figures?: ExportFigures,
  ) {}

  /** Stops the job: no bucket starts after this, and run() rejects with `reason`. */
  abort(reason: UntradexError): void {
    this.failure ??= reason;
  }

  /**
   * Rows committed by this run (earlier runs' rows are in meta), the rate since it started, and the
   * buckets that had to be merged because an earlier attempt had committed them already.
   */
  progress(): { rowsThisRun: number; rowsPerSecond: number; bucketsUpserted: number } {
    const seconds = (Date.now() - this.startedAt) / 1000;
    return { rowsThisRun: this.rowsThisRun, rowsPerSecond: seconds > 0 ? Math.round(this.rowsThisRun / seconds) : 0, bucketsUpserted: this.bucketsUpserted };
  }

  /** The buckets waiting for their Redis shard to answer again. */
  waits(): ShardWait[] {
    return [...this.shardWaits].map(([bucket, since]) => ({ key: bucketKeys.log(this.exam, bucket), bucket, since, step: 'export' }));
  }

  /** Resolves when every pending bucket is done; rejects with ExportError on a permanent failure. */
  async run(): Promise<void> {
    const queue = [...this.pending];
    const lanes = Array.from({ length: Math.min(this.concurrency, queue.length) }, async () => {
      for (let bucket = queue.shift(); bucket !== undefined && this.failure === null; bucket = queue.shift()) {
        await this.exportBucket(bucket);
      }
    });
    await Promise.all(lanes);
    if (this.failure !== null) throw this.failure;
  }

  /** One try at a bucket: its rows, or the error rebuilt with its class. */
  private async attempt(bucket: number): Promise<BucketTaskDone | UntradexError> {
    try {
      const result = await this.runner.run({ exam: this.exam, bucket, trace: traceCarrier() });
      return result.ok ? result : deserializeError(result.error);
    } catch (error) {
      // The exporter thread died (or the pool refused): the bucket's transaction never committed.
      // A shutdown is not retryable: the job stops, and the next finalize resumes it.
      return error instanceof UntradexError ? error : new ActorCrashedError('exporter', (error as Error).message, { cause: error });
    }
  }

  private async exportBucket(bucket: number): Promise<void> {
    let shardAttempts = 0;
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.attempt(bucket);
      if (!(outcome instanceof UntradexError)) {
        this.shardWaits.delete(bucket);
        const marked = await this.meta.markBucketDone(this.exam, bucket, outcome.rows, this.owner);
        if (marked !== 'written') {
          // The rows are committed (idempotently): whoever holds the lease now redoes the bucket.
          this.abort(new ExportLeaseLostError(this.exam, marked === 'exported' ? 'the exam is exported already' : 'another process holds it'));
          return;
        }
        this.rowsThisRun += outcome.rows;
        this.figures?.bucketCommitted(outcome.rows);
        if (outcome.load === 'upsert') this.bucketsUpserted += 1;
        return;
      }
      const failure = outcome;
      const transient = isRetryable(failure);
      this.figures?.bucketFailed(failure.code);
      let delay: number | null;
      if (failure.code === 'UX_ERR_REDIS_UNAVAILABLE') {
        // The bucket's Redis shard is down or failing over: the data is there once it is back, so
        // wait for it however long the outage lasts (GET /api/exams/{exam} names the shard), rather
        // than spending the sink's retry budget and failing the export.
        shardAttempts += 1;
        attempt -= 1;
        if (!this.shardWaits.has(bucket)) this.shardWaits.set(bucket, Date.now());
        delay = shardRetryDelay(shardAttempts);
      } else {
        delay = transient ? this.backoff(attempt) : null;
      }
      if (delay === null) {
        const why = transient ? `still failing after ${attempt} attempts` : 'a permanent error';
        this.failure ??= new ExportError(`bucket ${bucket} of exam ${this.exam}: ${why}: ${failure.code}: ${failure.message}`, { cause: failure });
        return;
      }
      if (shardAttempts <= 1 || shardAttempts % 10 === 0) {
        this.log.warn({ exam: this.exam, bucket, attempt, shardAttempts, delayMs: delay, code: failure.code, message: failure.message }, 'bucket export failed; retrying');
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.failure !== null) return;
    }
  }
}
