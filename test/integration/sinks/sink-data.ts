// Seeded export data for the sink suite: students spread over buckets, answers changed and
// cleared, submits, hostile values and edge times; plus the tables they must produce.

import { MAX_CLIENT_TS, MAX_SEQ } from '../../../src/events/answer-event.js';
import type { AnswerRow, EventRow, SubmissionRow } from '../../../src/events/result-rows.js';
import type { BucketWriteOptions, ResultSink } from '../../../src/sinks/result-sink.js';
import { seededUnit } from '../../helpers/seeded-random.js';

export interface BucketData {
  exam: string;
  bucket: number;
  events: EventRow[];
  answers: AnswerRow[];
  submissions: SubmissionRow[];
}

/** The final tables as read back; values may be null (Oracle reads "" as NULL). */
export interface ResultTables {
  answers: (Omit<AnswerRow, 'value'> & { value: string | null })[];
  events: (Omit<EventRow, 'kind'> & { kind: string })[];
  submissions: SubmissionRow[];
}

const CONTROL_CHARS = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('') + '\x7f';

/** Every value must come back byte for byte ("" as NULL on Oracle). */
export const HOSTILE_VALUES: readonly string[] = [
  "'; DROP TABLE ux_answers; --",
  `O'Reilly said "hi" \`x\` ''`,
  'back\\slash \\\\ \\n \\t',
  '\\N',
  '\\.',
  'tab\there\t',
  'line1\nline2\n',
  'crlf\r\nend\r',
  'emoji 😀🎓👩‍💻 é ñ 中文 ﷽',
  CONTROL_CHARS,
  '\u2028\u2029\uFEFF',
  'NULL',
  '  padded  ',
  '%_*?[]{}$1:1&&||',
  'x'.repeat(2048),
  'é'.repeat(1024),
  '😀'.repeat(512),
  '',
];

/** mulberry32 in [0, 1) (test/helpers/seeded-random.ts): the same sequence on every run for a seed. */
const rng = seededUnit;

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

const PLAIN_VALUES = ['A', 'B', 'C', 'D', '', 'free text answer', '42'];

export interface GenerateOptions {
  seed: number;
  exam: string;
  students: number;
  buckets: number;
}

/**
 * Each student opens, answers 3-5 questions 1-3 times each (earlier versions included, and the
 * answer rows shuffled so an older version often arrives after a newer one), and 4 in 5 submit.
 */
export function generateBuckets(options: GenerateOptions): BucketData[] {
  const random = rng(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const buckets: BucketData[] = Array.from({ length: options.buckets }, (_, bucket) => ({
    exam: options.exam,
    bucket,
    events: [],
    answers: [],
    submissions: [],
  }));
  for (let i = 0; i < options.students; i++) {
    const data = buckets[i % options.buckets] as BucketData;
    const studentId = `S${String(i).padStart(5, '0')}`;
    // A few students run near the top of the seq range, to prove seqs survive as exact integers.
    let seq = i % 500 === 7 ? MAX_SEQ - 200 : 1;
    let serverTs = 1_764_400_000_000 + i * 1000 + Math.floor(random() * 1000);
    const clientTs = (): number | null => {
      const r = random();
      if (r < 0.2) return null;
      if (r < 0.22) return 0;
      if (r < 0.24) return MAX_CLIENT_TS;
      return serverTs - Math.floor(random() * 5000);
    };
    const event = (kind: EventRow['kind'], questionId: string | null, value: string | null): EventRow => {
      const row: EventRow = { examId: options.exam, studentId, seq, kind, questionId, value, clientTs: clientTs(), serverTs };
      data.events.push(row);
      seq += 1 + Math.floor(random() * 3);
      serverTs += 1 + Math.floor(random() * 60_000);
      return row;
    };
    event('open', null, null);
    const questions = 3 + Math.floor(random() * 3);
    for (let q = 1; q <= questions; q++) {
      const versions = 1 + Math.floor(random() * 3);
      for (let v = 1; v <= versions; v++) {
        const last = v === versions;
        // The final answer to Q1 walks through every hostile value across students.
        const value = last && q === 1 ? (HOSTILE_VALUES[i % HOSTILE_VALUES.length] as string) : pick(PLAIN_VALUES);
        const row = event('answer', `Q${q}`, value);
        data.answers.push({
          examId: options.exam,
          studentId,
          questionId: `Q${q}`,
          value,
          seq: row.seq,
          answeredAt: row.clientTs,
          receivedAt: row.serverTs,
        });
      }
    }
    if (random() < 0.8) {
      const submit = event('submit', null, null);
      data.submissions.push({ examId: options.exam, studentId, submittedAt: submit.serverTs, lastSeq: submit.seq });
    }
  }
  for (const data of buckets) {
    shuffle(data.events, random);
    shuffle(data.answers, random);
  }
  return buckets;
}

/** The bucket as Redis holds it after an exam: one answer per question, the last by seq. */
export function lastAnswersOnly(b: BucketData): BucketData {
  const latest = new Map<string, AnswerRow>();
  for (const row of b.answers) {
    const key = `${row.studentId}|${row.questionId}`;
    const seen = latest.get(key);
    if (seen === undefined || row.seq >= seen.seq) latest.set(key, row);
  }
  return { ...b, answers: [...latest.values()] };
}

export const totalRows = (b: BucketData): number => b.events.length + b.answers.length + b.submissions.length;

const answerKey = (r: { examId: string; studentId: string; questionId: string }): string => `${r.examId}\0${r.studentId}\0${r.questionId}`;
const eventKey = (r: { examId: string; studentId: string; seq: number }): string =>
  `${r.examId}\0${r.studentId}\0${String(r.seq).padStart(16, '0')}`;
const submissionKey = (r: { examId: string; studentId: string }): string => `${r.examId}\0${r.studentId}`;

/** Sorts by a string key computed once per row (the tables run to tens of thousands of rows). */
function byKey<R>(rows: readonly R[], key: (r: R) => string): R[] {
  return rows
    .map((row) => ({ k: key(row), row }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map(({ row }) => row);
}

/** What the tables must hold after `buckets` were exported: the last answer per question by seq. */
export function expectedTables(buckets: readonly BucketData[], emptyAs: 'empty' | 'null'): ResultTables {
  const v = (value: string | null): string | null => (value === '' && emptyAs === 'null' ? null : value);
  const latest = new Map<string, AnswerRow>();
  for (const row of buckets.flatMap((b) => b.answers)) {
    const seen = latest.get(answerKey(row));
    if (seen === undefined || row.seq >= seen.seq) latest.set(answerKey(row), row);
  }
  return canonicalTables({
    answers: [...latest.values()].map((r) => ({ ...r, value: v(r.value) })),
    events: buckets.flatMap((b) => b.events).map((r) => ({ ...r, value: v(r.value) })),
    submissions: buckets.flatMap((b) => b.submissions),
  });
}

/** Fixed field order and key order, so two ResultTables compare field by field. */
export function canonicalTables(tables: ResultTables): ResultTables {
  return {
    answers: byKey(tables.answers, answerKey).map((r) => ({
      examId: r.examId,
      studentId: r.studentId,
      questionId: r.questionId,
      value: r.value,
      seq: r.seq,
      answeredAt: r.answeredAt,
      receivedAt: r.receivedAt,
    })),
    events: byKey(tables.events, eventKey).map((r) => ({
      examId: r.examId,
      studentId: r.studentId,
      seq: r.seq,
      kind: r.kind,
      questionId: r.questionId,
      value: r.value,
      clientTs: r.clientTs,
      serverTs: r.serverTs,
    })),
    submissions: byKey(tables.submissions, submissionKey).map((r) => ({
      examId: r.examId,
      studentId: r.studentId,
      submittedAt: r.submittedAt,
      lastSeq: r.lastSeq,
    })),
  };
}

/**
 * The first few differences (empty when equal), readable in a test failure. `expected` comes
 * from expectedTables, which is already canonical.
 */
export function diffTables(actual: ResultTables, expected: ResultTables, limit = 5): string[] {
  const a = canonicalTables(actual);
  const e = expected;
  const diffs: string[] = [];
  for (const table of ['answers', 'events', 'submissions'] as const) {
    const rowsA: readonly object[] = a[table];
    const rowsE: readonly object[] = e[table];
    if (rowsA.length !== rowsE.length) diffs.push(`${table}: ${rowsA.length} rows, expected ${rowsE.length}`);
    for (let i = 0; i < Math.max(rowsA.length, rowsE.length) && diffs.length < limit; i++) {
      const ja = JSON.stringify(rowsA[i]);
      const je = JSON.stringify(rowsE[i]);
      if (ja !== je) diffs.push(`${table}[${i}]: got ${ja?.slice(0, 300)}, expected ${je?.slice(0, 300)}`);
    }
  }
  return diffs;
}

/** Writes one bucket in chunks of `chunkRows`, interleaving the three kinds, and commits. */
export async function writeBucket(sink: ResultSink, data: BucketData, chunkRows: number, options: BucketWriteOptions = {}): Promise<{ rows: number }> {
  const write = await sink.beginBucket(data.exam, data.bucket, options);
  const chunks = Math.ceil(Math.max(data.events.length, data.answers.length, data.submissions.length) / chunkRows);
  for (let c = 0; c < chunks; c++) {
    const slice = <R>(rows: readonly R[]): readonly R[] => rows.slice(c * chunkRows, (c + 1) * chunkRows);
    await write.addEvents(slice(data.events));
    await write.addAnswers(slice(data.answers));
    await write.addSubmissions(slice(data.submissions));
  }
  return write.commit();
}
