// Reads one bucket of a closed exam back as result rows, in chunks of at most chunkSize rows:
// XRANGE over the log stream, HSCAN over the answer and state hashes. Never one giant read.

import { RedisScriptError } from '../errors.js';
import type { AnswerRow, EventRow, SubmissionRow } from '../events/result-rows.js';
import { bucketKeys } from './bucket-keys.js';
import type { RedisClient } from './redis-client.js';
import { isStudentField, parseStudentState } from './student-state.js';

const KIND_NAME: Record<string, EventRow['kind']> = { o: 'open', a: 'answer', s: 'submit' };

interface LogFields {
  s?: string | undefined;
  q?: string | undefined;
  k?: string | undefined;
  v?: string | undefined;
  seq?: string | undefined;
  cts?: string | undefined;
  sts?: string | undefined;
}

/**
 * ux_write adds every entry with the same seven fields in the same order; reading them by position
 * (after checking the names) skips building a keyed object per entry, the export's hottest loop.
 */
function hasWriteLayout(fields: string[]): boolean {
  return (
    fields.length === 14 &&
    fields[0] === 's' &&
    fields[2] === 'q' &&
    fields[4] === 'k' &&
    fields[6] === 'v' &&
    fields[8] === 'seq' &&
    fields[10] === 'cts' &&
    fields[12] === 'sts'
  );
}

function positionalFields(fields: string[]): LogFields {
  return { s: fields[1], q: fields[3], k: fields[5], v: fields[7], seq: fields[9], cts: fields[11], sts: fields[13] };
}

/** Any other layout (an entry written by hand, a future field): by name, unknown fields ignored. */
function namedFields(fields: string[]): LogFields {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
  return f;
}

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
    for (;;) {
      const entries = await this.redis.xrange(key, start, '+', 'COUNT', this.chunkSize);
      if (entries.length === 0) return;
      yield entries.map(([id, fields]) => this.eventRow(id, fields));
      if (entries.length < this.chunkSize) return;
      // An exclusive start ("(" + id) resumes right after the last entry read.
      start = `(${(entries[entries.length - 1] as [string, string[]])[0]}`;
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

  private eventRow(id: string, fields: string[]): EventRow {
    const f = hasWriteLayout(fields) ? positionalFields(fields) : namedFields(fields);
    const kind = KIND_NAME[f.k ?? ''];
    if (kind === undefined || f.s === undefined || f.seq === undefined || f.sts === undefined || f.cts === undefined) {
      throw this.corrupt('log entry', id);
    }
    const isAnswer = kind === 'answer';
    return {
      examId: this.exam,
      studentId: f.s,
      seq: Number(f.seq),
      kind,
      questionId: isAnswer ? (f.q ?? '') : null,
      value: isAnswer ? (f.v ?? '') : null,
      clientTs: f.cts === '' ? null : Number(f.cts),
      serverTs: Number(f.sts),
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
