// An exam from open to exported: finalize closes every bucket (the write function then nacks new
// events), takes the export lease, runs the export job, and records the outcome in Redis.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ExamReport, ExamState, ExamSummary } from '../control/control-backend.js';
import { ExportError, ExportLeaseLostError, RedisUnavailableError, UntradexError } from '../errors.js';
import type { BucketStore } from '../redis/bucket-store.js';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { isCluster, type RedisClient } from '../redis/redis-client.js';
import { bucketKeys, EXAM_INDEX_KEY } from '../redis/bucket-keys.js';
import { FINALIZE_SPAN, tracer } from '../telemetry/tracing.js';
import { ExamClose } from './exam-close.js';
import { ExamMetaStore, type ExamMeta } from './exam-meta.js';
import { expireExam, purgeExam, type ExamData } from './exam-retention.js';
import type { ExportFigures } from './export-figures.js';
import { ExportJob, type BucketTaskRunner, type ExportBackoff } from './export-job.js';
import { describeWaiting, isShardOutage, LATE, shardRetryDelay, within, type ShardWait } from './shard-wait.js';

// A process that dies while exporting holds the exam until its lease lapses: keep that short. A
// finalize that finds such a lease waits for it to lapse and takes the job over (takeOverWhenFree).
const LEASE_TTL_MS = 10_000;
const LEASE_RENEW_MS = 3_000;
/** How often a finalize that found the lease taken tries it again. */
const TAKEOVER_POLL_MS = 1_000;
/** Exams whose counts the exam list reads at once: each is one read-only call per bucket. */
const LIST_CONCURRENCY = 8;
/**
 * How long finalize waits for the close (and the job's start) before it answers. It answers 202
 * either way; past this, a Redis shard that is down keeps some buckets open, the reply says which
 * (`waiting`), and the close and the export go on by themselves once the shard is back.
 */
const FINALIZE_REPLY_WAIT_MS = 2_000;
/**
 * Redis Cluster only: how long a report waits for any one read (a shard that is down must not hang
 * the status; what did not answer is named in `waiting`). A single Redis that is down is all of
 * Untradex down, and a report waits for it as before.
 */
const REPORT_WAIT_MS = 3_000;
/** How long a finalize step on the exam's state may run before the report names its shard as waited for. */
const STATE_STEP_WAIT_MS = 1_500;

export interface ExamLifecycleOptions {
  buckets: number;
  /** Buckets exported at once: export.exporters threads, each loading bucketsPerExporter(sink) at a time. */
  bucketsAtOnce: number;
  /** Seconds exported data stays in Redis; null keeps it until purged. */
  retainSeconds: number | null;
  backoff: ExportBackoff;
  /** The pool that runs bucket exports; created on the first finalize. */
  runner: () => BucketTaskRunner;
  /** This process's export figures for /metrics; none kept when absent. */
  figures?: ExportFigures;
}

interface RunningExport {
  job: ExportJob;
  done: Promise<void>;
}

/** A finalize between its request and its export job: closing the buckets, taking the lease. */
interface Finalizing {
  close: ExamClose;
  /** Keys of the exam's state or index whose shard has not answered a step yet, and since when. */
  stateWaits: Map<string, number>;
  /** Settles once the job has started (or another process holds it); rejects on a permanent failure. */
  started: Promise<void>;
}

export class ExamLifecycle {
  readonly meta: ExamMetaStore;
  private readonly owner = `${process.pid}:${randomUUID()}`;
  private readonly running = new Map<string, RunningExport>();
  /** Exams whose lease another process holds and which this one takes over once it lapses. */
  private readonly waiting = new Set<string>();
  /** Exams whose finalize is closing their buckets (or taking the lease) in the background. */
  private readonly finalizing = new Map<string, Finalizing>();
  /** Why the last background finalize of an exam stopped, until it is finalized again. */
  private readonly finalizeFailures = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly store: BucketStore,
    private readonly options: ExamLifecycleOptions,
    private readonly log: Logger,
  ) {
    this.meta = new ExamMetaStore(redis);
  }

  async report(exam: string): Promise<ExamReport> {
    const finalizing = this.finalizing.get(exam);
    // Every Redis read within a deadline: while a Cluster shard is down the report still answers,
    // and says in `waiting` what it could not read or what finalize waits for.
    const readMeta = this.meta.read(exam);
    readMeta.catch(() => undefined);
    const waitMs = isCluster(this.redis) ? REPORT_WAIT_MS : null;
    const [metaRead, live] = await Promise.all([waitMs === null ? readMeta : within(readMeta, waitMs), this.store.examCountsWithin(exam, waitMs)]);
    let meta: ExamMeta;
    if (metaRead === LATE) {
      // Without the exam's state only a finalize running here can say what it is.
      if (finalizing === undefined) throw new RedisUnavailableError(`the Redis shard holding exam ${exam}'s state (${describeWaiting(this.redis, exam, [{ key: bucketKeys.meta(exam), bucket: null, since: Date.now(), step: 'counts' }])!.shard}) does not answer`);
      meta = { state: 'closing', finalCounts: null, startedAt: null, finishedAt: null, error: null, doneBuckets: new Map() };
    } else {
      meta = metaRead;
    }
    // An exported exam whose data was purged or expired still reads as it was exported; who is
    // connected is always read live.
    const final = meta.state === 'exported' ? meta.finalCounts : null;
    const counts = {
      students: final?.students ?? live.counts.students,
      events: final?.events ?? live.counts.events,
      submitted: final?.submitted ?? live.counts.submitted,
      connected: live.counts.connected,
    };
    const closedBuckets = live.counts.closedBuckets;
    let state: ExamState = meta.state ?? (closedBuckets > 0 ? 'closing' : 'open');
    let error = meta.error;
    // A finalize running here before its job started: closing, whatever an earlier run left.
    if (finalizing !== undefined && (state === 'open' || state === 'failed')) {
      state = 'closing';
      error = null;
    }
    const failure = this.finalizeFailures.get(exam);
    if (finalizing === undefined && failure !== undefined && state === 'closing') {
      state = 'failed';
      error = failure;
    }
    if (state === 'exporting' && finalizing === undefined && !this.running.has(exam) && !this.waiting.has(exam) && (await this.meta.leaseHolder(exam)) === null) {
      // A job of this process that finished between the meta read above and these checks wrote its
      // final state before it left `running` and released the lease: read again before calling the
      // export dead (a report racing the last bucket read `failed` for an exam just exported).
      if ((await this.meta.read(exam)).state !== 'exporting') return this.report(exam);
      // The process running the export died with it: nobody holds the lease any more.
      state = 'failed';
      error ??= 'the export stopped when the process running it exited; finalize again to resume it';
    }
    let rows = 0;
    for (const bucketRows of meta.doneBuckets.values()) rows += bucketRows;
    const total = this.options.buckets;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      exam,
      state,
      ...counts,
      export: {
        bucketsDone: meta.doneBuckets.size,
        bucketsTotal: total,
        rows,
        percent: Math.round((meta.doneBuckets.size / total) * 1000) / 10,
        rowsPerSecond: this.running.get(exam)?.job.progress().rowsPerSecond ?? 0,
        startedAt: iso(meta.startedAt),
        finishedAt: iso(meta.finishedAt),
        error,
      },
      waiting: state === 'exported' ? null : this.waitingOf(exam, finalizing, live.unanswered),
    };
  }

  /** What the exam waits for: buckets its finalize cannot close or export, or counts not read. */
  private waitingOf(exam: string, finalizing: Finalizing | undefined, uncounted: readonly number[]) {
    const now = Date.now();
    const waits: ShardWait[] = [];
    if (finalizing !== undefined) {
      waits.push(...finalizing.close.waits());
      for (const [key, since] of finalizing.stateWaits) waits.push({ key, bucket: null, since, step: 'close' });
    }
    waits.push(...(this.running.get(exam)?.job.waits() ?? []));
    const named = new Set(waits.map((wait) => wait.bucket));
    for (const bucket of uncounted) if (!named.has(bucket)) waits.push({ key: bucketKeys.log(exam, bucket), bucket, since: now - REPORT_WAIT_MS, step: 'counts' });
    return describeWaiting(this.redis, exam, waits);
  }

  /** Every exam in the exam index, read a few at a time (each costs one call per bucket). */
  async list(): Promise<ExamSummary[]> {
    const exams = await this.store.examIndex.list();
    const summaries: ExamSummary[] = [];
    for (let i = 0; i < exams.length; i += LIST_CONCURRENCY) {
      const reports = await Promise.all(exams.slice(i, i + LIST_CONCURRENCY).map((exam) => this.report(exam)));
      for (const { exam, state, students, events, submitted, connected } of reports) summaries.push({ exam, state, students, events, submitted, connected });
    }
    return summaries;
  }

  /**
   * Safe to call any number of times, from any process: it joins, resumes or reports. When another
   * process holds the export lease, this one watches it and takes the job over if that owner stops
   * renewing (it died): an exam never reads `exporting` with nobody exporting it for longer than
   * the lease time and a poll.
   */
  async finalize(exam: string): Promise<ExamReport> {
    if (this.closed) throw new UntradexError('UX_ERR_SHUTDOWN', 'Untradex is stopping; finalize again after the restart');
    if (this.running.has(exam) || this.waiting.has(exam) || this.finalizing.has(exam)) return this.report(exam);
    this.finalizeFailures.delete(exam);
    const finalizing: Finalizing = { close: new ExamClose(exam, this.options.buckets, this.store, this.log), stateWaits: new Map(), started: Promise.resolve() };
    finalizing.started = this.closeAndStart(exam, finalizing);
    this.finalizing.set(exam, finalizing);
    const settled = finalizing.started.finally(() => this.finalizing.delete(exam));
    settled.catch((error: unknown) => {
      this.finalizeFailures.set(exam, `finalize stopped: ${(error as Error).message}; finalize again to resume it`);
      this.log.error({ exam, err: error }, 'finalize stopped; finalize again to resume it');
    });
    // A permanent failure within the reply's wait is the caller's answer, as before; after it, the
    // report says so. A shard outage is neither: the reply says what finalize waits for.
    const early = await within(settled.then(() => null, (error: unknown) => error), FINALIZE_REPLY_WAIT_MS);
    if (early !== LATE && early !== null) throw early;
    return this.report(exam);
  }

  /**
   * The body of a finalize, run in the background: mark the exam closing, close every bucket
   * (from then on the write function refuses its new events, whichever process or ring they come
   * through; a resumed finalize re-closes harmlessly), then take the lease and start the job.
   * Every step waits out a Redis shard that is down, with backoff, however long it lasts.
   */
  private async closeAndStart(exam: string, finalizing: Finalizing): Promise<void> {
    const metaKey = bucketKeys.meta(exam);
    const meta = await this.untilShardAnswers(exam, finalizing, metaKey, () => this.meta.read(exam));
    if (meta.state === 'exported') return;
    if (meta.state === null) await this.untilShardAnswers(exam, finalizing, metaKey, () => this.meta.markClosing(exam));
    // The exam index (one key for every exam, on whichever shard) is for the exam list only: the
    // close does not wait for it, the job's start does.
    const registered = meta.state === null ? this.untilShardAnswers(exam, finalizing, EXAM_INDEX_KEY, () => this.store.examIndex.register(exam)) : Promise.resolve();
    registered.catch(() => undefined);
    await finalizing.close.run();
    await registered;
    const started = await this.untilShardAnswers(exam, finalizing, metaKey, () => this.tryStartJob(exam));
    if (!started) {
      this.log.info({ exam }, 'another process holds the export lease; taking the job over if it stops renewing it');
      this.waiting.add(exam);
      void this.takeOverWhenFree(exam);
    }
  }

  /** Runs a step on one key of the exam's state or index until its shard answers; other failures reject. */
  private async untilShardAnswers<T>(exam: string, finalizing: Finalizing, key: string, step: () => Promise<T>): Promise<T> {
    const settle = (pending: Promise<T>) => pending.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
    try {
      for (let attempt = 1; ; attempt += 1) {
        if (this.closed) throw new UntradexError('UX_ERR_SHUTDOWN', `Untradex is stopping; finalize exam ${exam} again after the restart`);
        const pending = settle(step());
        let outcome = await within(pending, STATE_STEP_WAIT_MS);
        if (outcome === LATE) {
          // Still running: say so, and let it finish (the client resends it once the shard is back).
          if (!finalizing.stateWaits.has(key)) finalizing.stateWaits.set(key, Date.now());
          outcome = await pending;
        }
        if (outcome.ok) return outcome.value;
        if (!isShardOutage(outcome.error)) throw outcome.error;
        if (!finalizing.stateWaits.has(key)) finalizing.stateWaits.set(key, Date.now());
        if (attempt === 1 || attempt % 10 === 0) this.log.warn({ exam, key, attempt, err: outcome.error }, 'the Redis shard holding the exam\'s state does not answer; finalize goes on once it does');
        await new Promise((resolve) => setTimeout(resolve, shardRetryDelay(attempt)));
      }
    } finally {
      finalizing.stateWaits.delete(key);
    }
  }

  /** Stops watching leases and refuses new finalizes; running jobs end with the exporters. */
  close(): void {
    this.closed = true;
    for (const finalizing of this.finalizing.values()) finalizing.close.stop();
  }

  /** Takes the lease and starts the job on the buckets not done; false if another holds the lease. */
  private async tryStartJob(exam: string): Promise<boolean> {
    if (!(await this.meta.acquireLease(exam, this.owner, LEASE_TTL_MS))) return false;
    const meta = await this.meta.read(exam);
    if (meta.state === 'exported') {
      await this.meta.releaseLease(exam, this.owner);
      return true;
    }
    const moved = await this.meta.setState(exam, this.owner, 'exporting', { error: null, finishedAt: null });
    if (moved !== 'written') {
      await this.meta.releaseLease(exam, this.owner);
      return moved === 'exported';
    }
    const pending = Array.from({ length: this.options.buckets }, (_, bucket) => bucket).filter((bucket) => !meta.doneBuckets.has(bucket));
    const job = new ExportJob(exam, pending, this.options.bucketsAtOnce, this.options.runner(), this.meta, this.options.backoff, this.log, this.owner, this.options.figures);
    const done = this.runJob(exam, job, pending.length);
    this.running.set(exam, { job, done });
    return true;
  }

  /**
   * Polls the lease another process holds: while it renews, that process exports; once the lease
   * lapses with the exam still unfinished, this process takes the job over where it stopped.
   */
  private async takeOverWhenFree(exam: string): Promise<void> {
    try {
      while (!this.closed) {
        await new Promise((resolve) => setTimeout(resolve, TAKEOVER_POLL_MS));
        if (this.closed) return;
        const { state } = await this.meta.read(exam);
        // Exported by the other process, or failed there (a failure is reported; finalize resumes it).
        if (state !== 'exporting' && state !== 'closing') return;
        if (await this.tryStartJob(exam)) {
          this.log.warn({ exam }, 'took over the export of an exam whose lease holder stopped renewing it');
          return;
        }
      }
    } catch (error) {
      this.log.warn({ exam, err: error }, 'watching the export lease failed; finalize again to resume the export');
    } finally {
      this.waiting.delete(exam);
    }
  }

  /** Waits for a local job of the exam to end (tests and shutdown use it). */
  async settled(exam: string): Promise<void> {
    await this.finalizing.get(exam)?.started.catch(() => undefined);
    await this.running.get(exam)?.done;
  }

  async settledAll(): Promise<void> {
    await Promise.all([...this.finalizing.values()].map((finalizing) => finalizing.started.catch(() => undefined)));
    await Promise.all([...this.running.values()].map((running) => running.done));
  }

  /** Removes an exported exam's data from Redis; it stays exported (src/export/exam-retention.ts). */
  async purge(exam: string): Promise<{ deletedKeys: number }> {
    const deletedKeys = await purgeExam(this.examData(), exam);
    this.log.info({ exam, deletedKeys }, 'exam purged from Redis; it stays exported');
    return { deletedKeys };
  }

  private examData(): ExamData {
    return { redis: this.redis, meta: this.meta, store: this.store, buckets: this.options.buckets };
  }

  private async runJob(exam: string, job: ExportJob, pendingBuckets: number): Promise<void> {
    const started = Date.now();
    const lease = this.keepLease(exam, job);
    const uncount = this.options.figures?.jobStarted(job);
    // The finalize span (a no-op unless OTLP traces are on) parents every bucket's span, in whichever
    // exporter thread it runs: the job's lanes run in its context and pass it on in each task.
    const span = tracer().startSpan(FINALIZE_SPAN, { attributes: { 'ux.exam': exam, 'ux.buckets.pending': pendingBuckets } });
    try {
      this.log.info({ exam, pendingBuckets }, 'export started');
      await context.with(trace.setSpan(context.active(), span), () => job.run());
      await this.meta.recordFinalCounts(exam, await this.store.examCounts(exam));
      const finished = await this.meta.setState(exam, this.owner, 'exported', { finishedAt: Date.now(), error: null });
      if (finished === 'not_lease_holder') throw new ExportLeaseLostError(exam, 'another process holds it');
      if (this.options.retainSeconds !== null) await expireExam(this.examData(), exam, this.options.retainSeconds);
      this.log.info({ exam, rows: job.progress().rowsThisRun, bucketsUpserted: job.progress().bucketsUpserted, ms: Date.now() - started }, 'export finished');
      span.setAttribute('ux.rows', job.progress().rowsThisRun);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      if (error instanceof ExportLeaseLostError) {
        // Not ours to record: the lease holder's job writes the state (fenced, so we could not anyway).
        this.log.warn({ exam, code: error.code }, error.message);
      } else {
        const message = error instanceof ExportError ? error.message : `export failed: ${(error as Error).message}`;
        this.log.error({ exam, err: error }, 'export failed; finalize again to resume it');
        await this.meta.setState(exam, this.owner, 'failed', { error: message }).catch((metaError: unknown) => this.log.error({ err: metaError }, 'cannot record the failure'));
      }
    } finally {
      span.end();
      lease.stop();
      uncount?.();
      this.running.delete(exam);
      await this.meta.releaseLease(exam, this.owner).catch(() => undefined);
    }
  }

  /**
   * Renews the lease while the job runs. A renewal refused (the lease lapsed and is another's) stops
   * the job at once; renewals that fail (Redis unreachable) stop it before the lease can lapse.
   */
  private keepLease(exam: string, job: ExportJob): { stop(): void } {
    let renewedAt = Date.now();
    const timer = setInterval(() => {
      this.meta.renewLease(exam, this.owner, LEASE_TTL_MS).then(
        async (renewed) => {
          if (renewed) {
            renewedAt = Date.now();
            return;
          }
          // Lapsed (this thread stalled past the lease time): take it again if nobody else did, so
          // a stall does not leave the exam `exporting` with nobody exporting it. Every write is
          // fenced, so whatever another holder did meanwhile stays consistent.
          if (await this.meta.acquireLease(exam, this.owner, LEASE_TTL_MS).catch(() => false)) {
            this.log.warn({ exam, sinceRenewalMs: Date.now() - renewedAt }, 'the export lease lapsed during a stall; took it again');
            renewedAt = Date.now();
          } else {
            job.abort(new ExportLeaseLostError(exam, 'it lapsed before it was renewed, and another process holds it now'));
          }
        },
        (error: unknown) => {
          this.log.warn({ err: error, exam }, 'lease renewal failed');
          if (Date.now() - renewedAt > LEASE_TTL_MS - LEASE_RENEW_MS) job.abort(new ExportLeaseLostError(exam, `it could not be renewed for ${Date.now() - renewedAt} ms`));
        },
      );
    }, LEASE_RENEW_MS);
    return { stop: () => clearInterval(timer) };
  }
}
