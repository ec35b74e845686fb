// An exam from open to exported: finalize closes every bucket (the write function then nacks new
// events), takes the export lease, runs the export job, and records the outcome in Redis.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ExamReport, ExamState } from '../control/control-backend.js';
import { ExportError, UntradexError } from '../errors.js';
import type { BucketStore } from '../redis/bucket-store.js';
import type { RedisClient } from '../redis/redis-client.js';
import { ExamMetaStore } from './exam-meta.js';
import { ExportJob, type BucketTaskRunner, type ExportBackoff } from './export-job.js';

// A process that dies while exporting blocks a resume until its lease lapses: keep that short.
const LEASE_TTL_MS = 10_000;
const LEASE_RENEW_MS = 3_000;

export interface ExamLifecycleOptions {
  buckets: number;
  exporters: number;
  /** Seconds exported data stays in Redis; null keeps it until purged. */
  retainSeconds: number | null;
  backoff: ExportBackoff;
  /** The pool that runs bucket exports; created on the first finalize. */
  runner: () => BucketTaskRunner;
}

interface RunningExport {
  job: ExportJob;
  done: Promise<void>;
}

export class ExamLifecycle {
  readonly meta: ExamMetaStore;
  private readonly owner = `${process.pid}:${randomUUID()}`;
  private readonly running = new Map<string, RunningExport>();

  constructor(
    private readonly redis: RedisClient,
    private readonly store: BucketStore,
    private readonly options: ExamLifecycleOptions,
    private readonly log: Logger,
  ) {
    this.meta = new ExamMetaStore(redis);
  }

  async report(exam: string): Promise<ExamReport> {
    const [meta, live] = await Promise.all([this.meta.read(exam), this.store.examCounts(exam)]);
    // An exported exam whose data was purged or expired still reads as it was exported.
    const counts = meta.state === 'exported' && meta.finalCounts !== null ? meta.finalCounts : live;
    const closedBuckets = live.closedBuckets;
    let state: ExamState = meta.state ?? (closedBuckets > 0 ? 'closing' : 'open');
    let error = meta.error;
    if (state === 'exporting' && !this.running.has(exam) && (await this.meta.leaseHolder(exam)) === null) {
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
      students: counts.students,
      events: counts.events,
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
    };
  }

  /** Safe to call any number of times, from any process: it joins, resumes or reports. */
  async finalize(exam: string): Promise<ExamReport> {
    if (this.running.has(exam)) return this.report(exam);
    const meta = await this.meta.read(exam);
    if (meta.state === 'exported') return this.report(exam);
    if (meta.state === null) await this.meta.setState(exam, 'closing');
    // Written into every bucket: from here on the write function refuses new events of the exam,
    // whichever process or ring they come through, and a resumed finalize re-closes harmlessly.
    await this.store.closeExam(exam);
    if (!(await this.meta.acquireLease(exam, this.owner, LEASE_TTL_MS))) {
      this.log.info({ exam }, 'another process holds the export lease; reporting its progress');
      return this.report(exam);
    }
    await this.meta.setState(exam, 'exporting', { error: null, finishedAt: null });
    const pending = Array.from({ length: this.options.buckets }, (_, bucket) => bucket).filter((bucket) => !meta.doneBuckets.has(bucket));
    const job = new ExportJob(exam, pending, this.options.exporters, this.options.runner(), this.meta, this.options.backoff, this.log);
    const done = this.runJob(exam, job, pending.length);
    this.running.set(exam, { job, done });
    return this.report(exam);
  }

  /** Waits for a local job of the exam to end (tests and shutdown use it). */
  async settled(exam: string): Promise<void> {
    await this.running.get(exam)?.done;
  }

  async settledAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((running) => running.done));
  }

  /**
   * Removes an exported exam's data from Redis. The exam stays `exported` for good: its meta and
   * the buckets' close markers stay, so a student who connects again is welcomed `closed`, every
   * event is nacked `exam_closed`, and a finalize changes nothing (PROTOCOL.md section 4).
   */
  async purge(exam: string): Promise<{ deletedKeys: number }> {
    const meta = await this.meta.read(exam);
    if (meta.state !== 'exported') {
      throw new UntradexError('UX_ERR_CONTROL', `exam ${exam} is ${meta.state ?? 'open'}; only an exported exam can be purged`);
    }
    if (meta.finalCounts === null) await this.meta.recordFinalCounts(exam, await this.store.examCounts(exam));
    // One command per key, not one pipeline: the keys live in different hash slots on Redis
    // Cluster, and a Cluster pipeline must stay on one node. Commands issued together still go
    // out back to back on each connection.
    const counts = await Promise.all(this.meta.dataKeys(exam, this.options.buckets).map((key) => this.redis.unlink(key)));
    this.log.info({ exam, deletedKeys: counts.reduce((total, count) => total + count, 0) }, 'exam purged from Redis; it stays exported');
    return { deletedKeys: counts.reduce((total, count) => total + count, 0) };
  }

  private async runJob(exam: string, job: ExportJob, pendingBuckets: number): Promise<void> {
    const started = Date.now();
    const renew = setInterval(() => {
      this.meta.renewLease(exam, this.owner, LEASE_TTL_MS).catch((error: unknown) => this.log.warn({ err: error, exam }, 'lease renewal failed'));
    }, LEASE_RENEW_MS);
    try {
      this.log.info({ exam, pendingBuckets }, 'export started');
      await job.run();
      await this.meta.recordFinalCounts(exam, await this.store.examCounts(exam));
      await this.meta.setState(exam, 'exported', { finishedAt: Date.now(), error: null });
      if (this.options.retainSeconds !== null) await this.expireExam(exam, this.options.retainSeconds);
      this.log.info({ exam, rows: job.progress().rowsThisRun, ms: Date.now() - started }, 'export finished');
    } catch (error) {
      const message = error instanceof ExportError ? error.message : `export failed: ${(error as Error).message}`;
      this.log.error({ exam, err: error }, 'export failed; finalize again to resume it');
      await this.meta.setState(exam, 'failed', { error: message }).catch((metaError: unknown) => this.log.error({ err: metaError }, 'cannot record the failure'));
    } finally {
      clearInterval(renew);
      this.running.delete(exam);
      await this.meta.releaseLease(exam, this.owner).catch(() => undefined);
    }
  }

  /** Retention: the data expires, the tombstone (meta, close markers) stays, as with purge(). */
  private async expireExam(exam: string, seconds: number): Promise<void> {
    // One command per key, as in purge().
    await Promise.all(this.meta.dataKeys(exam, this.options.buckets).map((key) => this.redis.expire(key, seconds)));
  }
}
