// The contract between the exporter actors and the result database (docs/PROTOCOL.md section 5).
// One bucket is written as chunks and made durable in one transaction, idempotently.

import type { AnswerRow, EventRow, SubmissionRow } from '../events/result-rows.js';

export type SinkKind = 'sqlite' | 'postgres' | 'oracle';

export interface BucketWrite {
  /** Each call adds a chunk (rows of one bucket); may be called many times per kind. */
  addEvents(rows: readonly EventRow[]): Promise<void>;
  addAnswers(rows: readonly AnswerRow[]): Promise<void>;
  addSubmissions(rows: readonly SubmissionRow[]): Promise<void>;
  /**
   * Makes all chunks of this bucket durable in ONE transaction, idempotently. `rows` counts the
   * rows handed to this bucket (events + answers + submissions), inserted or updated alike.
   */
  commit(): Promise<{ rows: number }>;
  /** Discards every chunk of this bucket; a no-op once the write has finished. */
  rollback(): Promise<void>;
}

export interface BucketWriteOptions {
  /**
   * `upsert` (the default): rows are merged by key, so a bucket written again, whole or in part,
   * leaves one row per key. `insert`: rows go straight into the final tables, as fast as the
   * database loads data, for a bucket none of whose keys are there yet (its first export); a key
   * already there fails the write with SinkKeyConflictError, nothing of it is kept, and the
   * caller writes the bucket again with `upsert`. A sink without a faster path upserts.
   */
  load?: 'insert' | 'upsert';
}

export interface ResultSink {
  readonly kind: SinkKind;
  /**
   * Creates the three tables (section 5 names with the prefix, primary keys, column types) if
   * they are missing; safe to call from several sinks at once.
   */
  ensureTables(): Promise<void>;
  /**
   * Connects (or opens the file) and asks the database a trivial question, changing nothing:
   * whether an export could reach it now. Rejects with a SinkError that says what failed.
   */
  ping(): Promise<void>;
  /**
   * Starts the transaction of one bucket. A write that fails rolls itself back and releases its
   * connection; later calls on it reject with that same error, so the caller begins the bucket again.
   */
  beginBucket(exam: string, bucket: number, options?: BucketWriteOptions): Promise<BucketWrite>;
  /** Rolls back bucket writes still open, then releases every connection. Idempotent. */
  close(): Promise<void>;
}
