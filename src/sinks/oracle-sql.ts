// The Oracle statements of the sink: final tables (upper case, TIMESTAMP(3)), one single-row
// MERGE per table for executeMany, its typed bind definitions, and each row as bind values.

import { MAX_ID_LENGTH } from '../events/answer-event.js';
import type { AnswerRow, EventRow, SubmissionRow } from '../events/result-rows.js';
import type { OracleBindDef, OracleBindValue, OracleDbModule } from './oracle-api.js';
import type { TableNames } from './table-names.js';

export type OracleTable = 'events' | 'answers' | 'submissions';
export const ORACLE_TABLES: readonly OracleTable[] = ['events', 'answers', 'submissions'];

/** VARCHAR2's limit with MAX_STRING_SIZE=STANDARD; bigger values are refused before binding. */
export const ORACLE_MAX_VALUE_BYTES = 4000;
const ID_BYTES = MAX_ID_LENGTH;
const KIND_BYTES = 16;

type ColumnKind = 'id' | 'kind' | 'value' | 'number' | 'time';

interface TableSpec {
  /** In bind order. `nullable` only matters to the DDL. */
  readonly columns: readonly (readonly [name: string, kind: ColumnKind, nullable: boolean])[];
  readonly key: readonly string[];
  /** Answers never go back to a lower seq; null: a stored row is never updated (events: the audit log). */
  readonly guard: string | null;
}

const SPECS: Record<OracleTable, TableSpec> = {
  answers: {
    columns: [
      ['EXAM_ID', 'id', false],
      ['STUDENT_ID', 'id', false],
      ['QUESTION_ID', 'id', false],
      ['VALUE', 'value', true],
      ['SEQ', 'number', false],
      ['ANSWERED_AT', 'time', true],
      ['RECEIVED_AT', 'time', false],
    ],
    key: ['EXAM_ID', 'STUDENT_ID', 'QUESTION_ID'],
    guard: ' WHERE s.SEQ >= t.SEQ',
  },
  events: {
    columns: [
      ['EXAM_ID', 'id', false],
      ['STUDENT_ID', 'id', false],
      ['SEQ', 'number', false],
      ['KIND', 'kind', false],
      ['QUESTION_ID', 'id', true],
      ['VALUE', 'value', true],
      ['CLIENT_TS', 'time', true],
      ['SERVER_TS', 'time', false],
    ],
    key: ['EXAM_ID', 'STUDENT_ID', 'SEQ'],
    guard: null,
  },
  submissions: {
    columns: [
      ['EXAM_ID', 'id', false],
      ['STUDENT_ID', 'id', false],
      ['SUBMITTED_AT', 'time', false],
      ['LAST_SEQ', 'number', false],
    ],
    key: ['EXAM_ID', 'STUDENT_ID'],
    guard: '',
  },
};

const DDL_TYPES: Record<ColumnKind, string> = {
  id: `VARCHAR2(${ID_BYTES} BYTE)`,
  kind: `VARCHAR2(${KIND_BYTES} BYTE)`,
  // BYTE semantics: 4000 bytes hold any 2048-byte UTF-8 value in an AL32UTF8 database.
  value: `VARCHAR2(${ORACLE_MAX_VALUE_BYTES} BYTE)`,
  // 2^53 - 1 has 16 digits.
  number: 'NUMBER(16)',
  time: 'TIMESTAMP(3)',
};

export function createTableSql(table: OracleTable, names: TableNames): string {
  const { columns, key } = SPECS[table];
  const cols = columns.map(([name, kind, nullable]) => `${name} ${DDL_TYPES[kind]}${nullable ? '' : ' NOT NULL'}`);
  return `CREATE TABLE ${names[table]} (${cols.join(', ')}, PRIMARY KEY (${key.join(', ')}))`;
}

/**
 * Times are bound as NUMBER milliseconds and turned into a UTC TIMESTAMP(3) by exact decimal
 * arithmetic in the database, so neither the driver's nor the session's time zone can shift them.
 */
function timeFromMs(bind: string): string {
  return `CAST(TIMESTAMP '1970-01-01 00:00:00' + NUMTODSINTERVAL(${bind} / 1000, 'SECOND') AS TIMESTAMP(3))`;
}

/**
 * A MERGE of one row from DUAL, executed by executeMany once per row of a batch in a single
 * round trip. Each row is its own MERGE, so one key twice in a batch is simply applied in order.
 */
export function mergeSql(table: OracleTable, names: TableNames): string {
  const { columns, key, guard } = SPECS[table];
  const source = columns.map(([name, kind], i) => `${kind === 'time' ? timeFromMs(`:${i + 1}`) : `:${i + 1}`} AS ${name}`);
  const colNames = columns.map(([name]) => name);
  const on = key.map((k) => `t.${k} = s.${k}`).join(' AND ');
  const updates = colNames.filter((n) => !key.includes(n)).map((n) => `t.${n} = s.${n}`);
  return (
    `MERGE INTO ${names[table]} t USING (SELECT ${source.join(', ')} FROM DUAL) s ON (${on}) ` +
    (guard === null ? '' : `WHEN MATCHED THEN UPDATE SET ${updates.join(', ')}${guard} `) +
    `WHEN NOT MATCHED THEN INSERT (${colNames.join(', ')}) VALUES (${colNames.map((n) => `s.${n}`).join(', ')})`
  );
}

/**
 * Explicit types and sizes for every bind: executeMany needs them, and they keep a batch whose
 * first row holds NULLs from being typed wrongly. The value's maxSize is the batch's longest value.
 */
export function bindDefs(table: OracleTable, oracledb: OracleDbModule, valueBytes: number): OracleBindDef[] {
  return SPECS[table].columns.map(([, kind]): OracleBindDef => {
    switch (kind) {
      case 'id':
        return { type: oracledb.DB_TYPE_VARCHAR, maxSize: ID_BYTES };
      case 'kind':
        return { type: oracledb.DB_TYPE_VARCHAR, maxSize: KIND_BYTES };
      case 'value':
        return { type: oracledb.DB_TYPE_VARCHAR, maxSize: Math.max(1, valueBytes) };
      case 'number':
      case 'time':
        return { type: oracledb.DB_TYPE_NUMBER };
      default: {
        const never: never = kind;
        throw new TypeError(`unknown column kind ${String(never)}`);
      }
    }
  });
}

export const eventBinds = (r: EventRow): OracleBindValue[] => [
  r.examId,
  r.studentId,
  r.seq,
  r.kind,
  r.questionId,
  r.value,
  r.clientTs,
  r.serverTs,
];

export const answerBinds = (r: AnswerRow): OracleBindValue[] => [
  r.examId,
  r.studentId,
  r.questionId,
  r.value,
  r.seq,
  r.answeredAt,
  r.receivedAt,
];

export const submissionBinds = (r: SubmissionRow): OracleBindValue[] => [r.examId, r.studentId, r.submittedAt, r.lastSeq];
