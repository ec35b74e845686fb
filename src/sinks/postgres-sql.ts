// The PostgreSQL statements of the sink: final tables, per-transaction staging tables, COPY
// column lists and the deduplicating upserts, plus how each row becomes COPY fields.

import type { AnswerRow, EventRow, SubmissionRow } from '../events/result-rows.js';
import { copyTimestamp, type CopyField } from './pg-copy-text.js';
import type { TableNames } from './table-names.js';

export type PgTable = 'events' | 'answers' | 'submissions';
export const PG_TABLES: readonly PgTable[] = ['events', 'answers', 'submissions'];

interface TableSpec {
  /** Column name and type, in COPY order. */
  readonly columns: readonly (readonly [string, string])[];
  readonly key: readonly string[];
  /** Among staged rows with one key, the first in this order wins (ord: later chunks first). */
  readonly pick: string;
  /**
   * Extra condition on the update (answers never go back to a lower seq); null: a stored row is
   * never updated. An event row is the audit log: a later export must not rewrite it, even if it
   * were handed different content for the same key (an exam reopened after its export would be
   * the bug; exported exams never reopen, and this keeps the sink honest should one ever do).
   */
  readonly guard: string | null;
}

const ID = 'varchar(64)';
const TS = 'timestamptz(3)';

const SPECS: Record<PgTable, TableSpec> = {
  answers: {
    columns: [
      ['exam_id', `${ID} NOT NULL`],
      ['student_id', `${ID} NOT NULL`],
      ['question_id', `${ID} NOT NULL`],
      ['value', 'text'],
      ['seq', 'bigint NOT NULL'],
      ['answered_at', TS],
      ['received_at', `${TS} NOT NULL`],
    ],
    key: ['exam_id', 'student_id', 'question_id'],
    pick: 'seq DESC, ord DESC',
    guard: ' WHERE EXCLUDED.seq >= t.seq',
  },
  events: {
    columns: [
      ['exam_id', `${ID} NOT NULL`],
      ['student_id', `${ID} NOT NULL`],
      ['seq', 'bigint NOT NULL'],
      ['kind', 'varchar(16) NOT NULL'],
      ['question_id', ID],
      ['value', 'text'],
      ['client_ts', TS],
      ['server_ts', `${TS} NOT NULL`],
    ],
    key: ['exam_id', 'student_id', 'seq'],
    pick: 'ord DESC',
    guard: null,
  },
  submissions: {
    columns: [
      ['exam_id', `${ID} NOT NULL`],
      ['student_id', `${ID} NOT NULL`],
      ['submitted_at', `${TS} NOT NULL`],
      ['last_seq', 'bigint NOT NULL'],
    ],
    key: ['exam_id', 'student_id'],
    pick: 'ord DESC',
    guard: '',
  },
};

const columnNames = (table: PgTable): string[] => SPECS[table].columns.map(([name]) => name);

/** Staging tables are per session and per transaction, so one fixed name per kind is enough. */
export const stageName = (table: PgTable): string => `untradex_stage_${table}`;

export function createTableSql(table: PgTable, names: TableNames): string {
  const { columns, key } = SPECS[table];
  const cols = columns.map(([name, type]) => `${name} ${type}`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${names[table]} (${cols}, PRIMARY KEY (${key.join(', ')}))`;
}

/**
 * TEMP ... ON COMMIT DROP: private to the bucket's session and gone at commit or rollback, so a
 * crashed bucket leaves nothing behind. Not logged in the WAL, and typed like the final columns
 * so COPY validates the data before the merge. `ord` records arrival order for deduplication.
 */
export function createStageSql(table: PgTable): string {
  const cols = SPECS[table].columns.map(([name, type]) => `${name} ${type.replace(' NOT NULL', '')}`).join(', ');
  return `CREATE TEMP TABLE ${stageName(table)} (ord bigint GENERATED ALWAYS AS IDENTITY, ${cols}) ON COMMIT DROP`;
}

export function copySql(table: PgTable): string {
  return `COPY pg_temp.${stageName(table)} (${columnNames(table).join(', ')}) FROM STDIN`;
}

/**
 * One upsert per table. DISTINCT ON is needed because ON CONFLICT DO UPDATE refuses to touch
 * the same row twice in one statement, and a bucket may stage one key more than once.
 */
export function mergeSql(table: PgTable, names: TableNames): string {
  const { key, pick, guard } = SPECS[table];
  const cols = columnNames(table);
  const updates = cols.filter((c) => !key.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
  const keyList = key.join(', ');
  return (
    `INSERT INTO ${names[table]} AS t (${cols.join(', ')}) ` +
    `SELECT DISTINCT ON (${keyList}) ${cols.join(', ')} FROM pg_temp.${stageName(table)} ORDER BY ${keyList}, ${pick} ` +
    (guard === null ? `ON CONFLICT (${keyList}) DO NOTHING` : `ON CONFLICT (${keyList}) DO UPDATE SET ${updates.join(', ')}${guard}`)
  );
}

export const eventFields = (r: EventRow): CopyField[] => [
  r.examId,
  r.studentId,
  r.seq,
  r.kind,
  r.questionId,
  r.value,
  copyTimestamp(r.clientTs),
  copyTimestamp(r.serverTs),
];

export const answerFields = (r: AnswerRow): CopyField[] => [
  r.examId,
  r.studentId,
  r.questionId,
  r.value,
  r.seq,
  copyTimestamp(r.answeredAt),
  copyTimestamp(r.receivedAt),
];

export const submissionFields = (r: SubmissionRow): CopyField[] => [r.examId, r.studentId, copyTimestamp(r.submittedAt), r.lastSeq];
