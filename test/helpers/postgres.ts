// The machine's PostgreSQL for tests: its URL, a unique table prefix per test so parallel runs
// never collide, and helpers to read back and drop the final tables of a prefix.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Test } from 'tap';
import type { ExpectedResults } from './exam-traffic.js';

/** Override with UX_TEST_POSTGRES_URL; the default is the test machine's trust-auth database. */
export const POSTGRES_URL = process.env['UX_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh `export.tablePrefix`: a letter, 10 hex digits, `_` (12 characters, within the 21 the
 * config allows), lower case so the same names work unquoted on PostgreSQL, SQLite and Oracle.
 */
export function uniquePrefix(letter = 't'): string {
  return `${letter}${randomBytes(5).toString('hex')}_`;
}

export async function withPgClient<T>(fn: (client: pg.Client) => Promise<T>, url = POSTGRES_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drops the three final tables of `prefix`; safe when they were never created. */
export async function dropTables(prefix: string, url = POSTGRES_URL): Promise<void> {
  const p = prefix.toLowerCase();
  await withPgClient((c) => c.query(`DROP TABLE IF EXISTS ${p}answers, ${p}events, ${p}submissions`), url);
}

/** Rows of the final tables as plain values: times in ms since the epoch, seqs as numbers. */
export interface PgResultTables {
  answers: {
    examId: string;
    studentId: string;
    questionId: string;
    value: string | null;
    seq: number;
    answeredAt: number | null;
    receivedAt: number;
  }[];
  events: {
    examId: string;
    studentId: string;
    seq: number;
    kind: string;
    questionId: string | null;
    value: string | null;
    clientTs: number | null;
    serverTs: number;
  }[];
  submissions: { examId: string; studentId: string; submittedAt: number; lastSeq: number }[];
}

// extract(epoch ...) is numeric on PostgreSQL 14+, so * 1000 is exact; pg returns bigint as text.
const ms = (column: string): string => `(extract(epoch from ${column}) * 1000)::bigint`;
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null ? null : Number(v));

/** Reads every row of the three tables of `prefix`, ordered by primary key. */
export async function readResultTables(prefix: string, url = POSTGRES_URL): Promise<PgResultTables> {
  const p = prefix.toLowerCase();
  return withPgClient(async (c) => {
    const answers = await c.query(
      `SELECT exam_id, student_id, question_id, value, seq, ${ms('answered_at')} AS answered_at, ${ms('received_at')} AS received_at ` +
        `FROM ${p}answers ORDER BY exam_id, student_id, question_id`,
    );
    const events = await c.query(
      `SELECT exam_id, student_id, seq, kind, question_id, value, ${ms('client_ts')} AS client_ts, ${ms('server_ts')} AS server_ts ` +
        `FROM ${p}events ORDER BY exam_id, student_id, seq`,
    );
    const submissions = await c.query(
      `SELECT exam_id, student_id, ${ms('submitted_at')} AS submitted_at, last_seq FROM ${p}submissions ORDER BY exam_id, student_id`,
    );
    return {
      answers: answers.rows.map((r) => ({
        examId: r.exam_id,
        studentId: r.student_id,
        questionId: r.question_id,
        value: r.value,
        seq: num(r.seq),
        answeredAt: numOrNull(r.answered_at),
        receivedAt: num(r.received_at),
      })),
      events: events.rows.map((r) => ({
        examId: r.exam_id,
        studentId: r.student_id,
        seq: num(r.seq),
        kind: r.kind,
        questionId: r.question_id,
        value: r.value,
        clientTs: numOrNull(r.client_ts),
        serverTs: num(r.server_ts),
      })),
      submissions: submissions.rows.map((r) => ({
        examId: r.exam_id,
        studentId: r.student_id,
        submittedAt: num(r.submitted_at),
        lastSeq: num(r.last_seq),
      })),
    };
  }, url);
}

/**
 * Checks the tables of `prefix` against what an exam's traffic must have produced, as
 * assertSqliteResults does for SQLite: one row per answered question holding the last answer, every
 * event and every submission exactly once. Returns the exam's event rows (for a fault record).
 */
export async function assertPostgresResults(t: Test, prefix: string, expected: ExpectedResults): Promise<PgResultTables['events']> {
  const tables = await readResultTables(prefix);
  const mine = <R extends { examId: string }>(rows: R[]): R[] => rows.filter((row) => row.examId === expected.exam);
  const answers = mine(tables.answers);
  t.equal(answers.length, expected.answers.size, 'one answer row per student and question');
  t.equal(answers.filter((row) => expected.answers.get(`${row.studentId}|${row.questionId}`)?.value !== row.value).length, 0, 'each is the last answer');
  const events = mine(tables.events);
  t.equal(events.length, expected.events, 'every event exactly once');
  t.equal(mine(tables.submissions).length, expected.submissions, 'every submission exactly once');
  return events;
}
