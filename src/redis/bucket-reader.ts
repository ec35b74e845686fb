// Reads one bucket of a closed exam back as result rows, in chunks of at most chunkSize rows:
// ranges of the log stream (log-range.ts), HSCAN over the answer and state hashes. Never one giant read.

import { RedisScriptError } from '../errors.js';
import type { AnswerRow, EventRow, SubmissionRow } from '../events/result-rows.js';
import { bucketKeys } from './bucket-keys.js';
import { LOG_FIELDS, readLogRange } from './log-range.js';
import type { RedisClient } from './redis-client.js';
import { isStudentField, parseStudentState } from './student-state.js';

const KIND_NAME: Record<string, EventRow['kind']> = { o: 'open', a: 'answer', s: 'submit' };

/**
 * Most log entries one script call reads: Redis runs one script at a time, and 1,000 entries hold it
 * for about 3.5 ms, about what one XRANGE of 5,000 did, so writes of a live exam wait no longer.
 */
const LOG_ENTRIES_PER_CALL = 1000;

export class BucketReader {
  private readonly redis: RedisClient;
  private readonly exam: string;
  private readonly bucket: number;
  private readonly chunkSize: number;

  constructor(redis: RedisClient, exam: string, bucket: number, chunkSize: number) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
    this.redis = redis;
    this.exam = exam;
    this.bucket = bucket;
    this.chunkSize = chunkSize;
  }

  /** Every stored event, in the order it was stored (which is seq order per student). */
  async *events(): AsyncIterable<EventRow[]> {
    const key = bucketKeys.log(this.exam, this.bucket);
    let start = '-';
    let pending: EventRow[] = [];
    for (let exhausted = false; !exhausted; ) {
      const want = Math.min(LOG_ENTRIES_PER_CALL, this.chunkSize - pending.length);
      const range = await readLogRange(this.redis, key, start, want);
      if (!range.ok) throw this.corrupt('log entry', range.malformedId);
      const { entries, fields } = range;
      // A NUL inside a field would shift every field after it: refuse rather than misread.
      if (fields.length !== entries * LOG_FIELDS) throw this.corrupt('log range', start);
      for (let at = 0; at < fields.length; at += LOG_FIELDS) pending.push(this.eventRow(fields, at));
      exhausted = entries < want;
      // An exclusive start ("(" + id) resumes right after the last entry read.
      if (!exhausted) start = `(${fields[fields.length - LOG_FIELDS]}`;
      if (pending.length === this.chunkSize || (exhausted && pending.length > 0)) {
        yield pending;
        pending = [];
      }
    }
  }

  /** The last answer of every student to every question of the bucket. */
  answers(): AsyncIterable<AnswerRow[]> {
    return this.scan(bucketKeys.ans(this.exam, this.bucket), (field, value) => this.answerRow(field, value));
  }

  /** One row per student whose submit is stored. */
  submissions(): AsyncIterable<SubmissionRow[]> {
    return this.scan(bucketKeys.seq(this.exam, this.bucket), (field, value) => this.submissionRow(field, value));
  }

  /**
   * HSCAN in steps of about chunkSize, re-cut into chunks of exactly chunkSize (the last one
   * shorter). HSCAN may return a field twice (when the hash is resized mid-scan), so fields
   * already seen are skipped: the rows of one bucket never hold a key twice.
   */
  private async *scan<Row>(key: string, toRow: (field: string, value: string) => Row | null): AsyncIterable<Row[]> {
    const seen = new Set<string>();
    let pending: Row[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', this.chunkSize);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const field = flat[i] as string;
        if (seen.has(field)) continue;
        seen.add(field);
        const row = toRow(field, flat[i + 1] as string);
        if (row !== null) pending.push(row);
      }
      while (pending.length >= this.chunkSize) {
        yield pending.slice(0, this.chunkSize);
        pending = pending.slice(this.chunkSize);
      }
    } while (cursor !== '0');
    if (pending.length > 0) yield pending;
  }

  /** The entry at `at` of a log range: id, s, q, k, v, seq, cts, sts. */
  private eventRow(fields: readonly string[], at: number): EventRow {
    const kind = KIND_NAME[fields[at + 3] as string];
    if (kind === undefined) throw this.corrupt('log entry', fields[at] as string);
    const isAnswer = kind === 'answer';
    const clientTs = fields[at + 6] as string;
    return {
      examId: this.exam,
      studentId: fields[at + 1] as string,
      seq: Number(fields[at + 5]),
      kind,
      questionId: isAnswer ? (fields[at + 2] as string) : null,
      value: isAnswer ? (fields[at + 4] as string) : null,
      clientTs: clientTs === '' ? null : Number(clientTs),
      serverTs: Number(fields[at + 7]),
    };
  }

  /** `<student>|<question>` -> `<seq>,<clientTs>,<serverTs>,<value>` (value last, may hold anything). */
  private answerRow(field: string, packed: string): AnswerRow {
    const bar = field.indexOf('|');
    const c1 = packed.indexOf(',');
    const c2 = packed.indexOf(',', c1 + 1);
    const c3 = packed.indexOf(',', c2 + 1);
    if (bar < 1 || c1 < 1 || c2 < 0 || c3 < 0) throw this.corrupt('answer', field);
    const clientTs = packed.slice(c1 + 1, c2);
    return {
      examId: this.exam,
      studentId: field.slice(0, bar),
      questionId: field.slice(bar + 1),
      value: packed.slice(c3 + 1),
      seq: Number(packed.slice(0, c1)),
      answeredAt: clientTs === '' ? null : Number(clientTs),
      receivedAt: Number(packed.slice(c2 + 1, c3)),
    };
  }

  /** `<student>` -> the packed student state (student-state.ts); `!` fields are bucket counters. */
  private submissionRow(field: string, packed: string): SubmissionRow | null {
    if (!isStudentField(field)) return null;
    const state = parseStudentState(packed);
    if (state === null) throw this.corrupt('student state', field);
    if (state.submitSeq === 0) return null;
    return { examId: this.exam, studentId: field, submittedAt: state.submittedAt ?? 0, lastSeq: state.submitSeq };
  }

  private corrupt(what: string, where: string): RedisScriptError {
    return new RedisScriptError(`malformed ${what} ${JSON.stringify(where)} in bucket ${this.bucket} of exam ${this.exam}`);
  }
}
