// The lifecycle every sink's BucketWrite shares: operations run one at a time, a failure rolls
// the bucket back and sticks, and a finished write refuses further chunks.

import { SinkError } from '../errors.js';
import type { AnswerRow, EventRow, SubmissionRow } from '../events/result-rows.js';
import type { BucketWrite, SinkKind } from './result-sink.js';
import { toSinkError } from './sink-errors.js';

type BucketState = 'open' | 'committed' | 'rolled-back' | 'failed';

export abstract class BucketWriteBase implements BucketWrite {
  private state: BucketState = 'open';
  private failure: SinkError | undefined;
  /** One driver connection serves the bucket, so its operations must not interleave. */
  private tail: Promise<unknown> = Promise.resolve();
  private rows = 0;

  protected constructor(
    protected readonly kind: SinkKind,
    /** Names the bucket in error messages, e.g. `exam E1 bucket 7`. */
    protected readonly label: string,
    private readonly onFinished: (write: BucketWriteBase) => void,
  ) {}

  protected abstract writeEvents(rows: readonly EventRow[]): Promise<void>;
  protected abstract writeAnswers(rows: readonly AnswerRow[]): Promise<void>;
  protected abstract writeSubmissions(rows: readonly SubmissionRow[]): Promise<void>;
  /** Moves the staged rows into the final tables and commits; releases the connection. */
  protected abstract commitStaged(): Promise<void>;
  /**
   * Discards everything and releases the connection. `broken` is true when the connection may
   * be unusable (a transient failure), so it should be dropped rather than reused.
   */
  protected abstract discard(broken: boolean): Promise<void>;

  get finished(): boolean {
    return this.state !== 'open';
  }

  addEvents(rows: readonly EventRow[]): Promise<void> {
    return this.add('writing events', rows.length, () => this.writeEvents(rows));
  }

  addAnswers(rows: readonly AnswerRow[]): Promise<void> {
    return this.add('writing answers', rows.length, () => this.writeAnswers(rows));
  }

  addSubmissions(rows: readonly SubmissionRow[]): Promise<void> {
    return this.add('writing submissions', rows.length, () => this.writeSubmissions(rows));
  }

  commit(): Promise<{ rows: number }> {
    return this.serial(async () => {
      this.assertOpen();
      try {
        await this.commitStaged();
      } catch (err) {
        throw await this.fail(err, 'committing');
      }
      this.finish('committed');
      return { rows: this.rows };
    });
  }

  rollback(): Promise<void> {
    return this.serial(async () => {
      if (this.state !== 'open') return;
      try {
        await this.discard(false);
      } catch (err) {
        // The rows are discarded either way (an unfinished transaction never commits); report the failure.
        this.finish('failed');
        throw toSinkError(this.kind, err, `rolling back ${this.label}`);
      }
      this.finish('rolled-back');
    });
  }

  /**
   * Runs one step of the bucket (a sink's setup, or a chunk of `count` rows) in turn with the
   * others; a failure rolls the bucket back and sticks.
   */
  protected runStep(doing: string, step: () => Promise<void>, count = 0): Promise<void> {
    return this.serial(async () => {
      this.assertOpen();
      try {
        await step();
      } catch (err) {
        throw await this.fail(err, doing);
      }
      this.rows += count;
    });
  }

  private add(doing: string, count: number, write: () => Promise<void>): Promise<void> {
    if (count === 0) return this.serial(async () => this.assertOpen());
    return this.runStep(doing, write, count);
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op);
    // The chain only orders operations; each caller gets its own result and error.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private assertOpen(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.state !== 'open') {
      throw new SinkError(false, `${this.kind} sink: ${this.label} was already ${this.state}; begin the bucket again`);
    }
  }

  /** Rolls back after a failed step; the returned error is thrown now and by every later call. */
  private async fail(err: unknown, doing: string): Promise<SinkError> {
    let error = toSinkError(this.kind, err, `${doing} for ${this.label}`);
    try {
      await this.discard(error.transient);
    } catch (cleanupErr) {
      const cleanup = cleanupErr instanceof Error ? cleanupErr.message : String(cleanupErr);
      error = new SinkError(error.transient, `${error.message}; rolling back also failed: ${cleanup}`, { cause: err });
    }
    this.failure = error;
    this.finish('failed');
    return error;
  }

  private finish(state: Exclude<BucketState, 'open'>): void {
    this.state = state;
    this.onFinished(this);
  }
}
