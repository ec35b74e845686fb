// The shared sink suite against a real Oracle Database in thin mode, when one is configured:
// UX_TEST_ORACLE_CONNECT, UX_TEST_ORACLE_USER, UX_TEST_ORACLE_PASSWORD. Skipped loudly otherwise.

import { createRequire } from 'node:module';
import t from 'tap';
import { createSink } from '../../../src/sinks/create-sink.js';
import { uniquePrefix } from '../../helpers/postgres.js';
import type { ResultTables } from './sink-data.js';
import { sinkSuite } from './sink-suite.js';

const connectString = process.env['UX_TEST_ORACLE_CONNECT'];
const user = process.env['UX_TEST_ORACLE_USER'];
const password = process.env['UX_TEST_ORACLE_PASSWORD'];

/** Just what this test reads back with; the sink itself goes through src/sinks/oracle-api.ts. */
interface ReadConnection {
  execute(sql: string): Promise<{ rows?: unknown[][] }>;
  close(): Promise<void>;
}
interface ReadDriver {
  getConnection(attributes: { user: string; password: string; connectString: string }): Promise<ReadConnection>;
}

const HOW_TO_ENABLE =
  'Oracle integration suite SKIPPED: no Oracle Database configured. To run it, set UX_TEST_ORACLE_CONNECT ' +
  '(e.g. localhost:1521/FREEPDB1), UX_TEST_ORACLE_USER and UX_TEST_ORACLE_PASSWORD for a user that may CREATE TABLE ' +
  '(thin mode: no Oracle Client libraries needed; e.g. docker run -p 1521:1521 -e ORACLE_PASSWORD=... gvenzl/oracle-free).';

if (connectString === undefined || connectString === '' || user === undefined || user === '' || password === undefined) {
  t.comment(HOW_TO_ENABLE);
  t.test('oracle sink', { skip: HOW_TO_ENABLE }, async () => undefined);
} else {
  const credentials = { user, password, connectString };
  const driver = createRequire(import.meta.url)('oracledb') as ReadDriver;
  const prefix = uniquePrefix('o').toUpperCase();
  const tables = ['ANSWERS', 'EVENTS', 'SUBMISSIONS'].map((name) => `${prefix}${name}`);

  const withConnection = async <T>(fn: (c: ReadConnection) => Promise<T>): Promise<T> => {
    const connection = await driver.getConnection(credentials);
    try {
      return await fn(connection);
    } finally {
      await connection.close();
    }
  };

  t.teardown(() =>
    withConnection(async (c) => {
      for (const table of tables) {
        // ORA-00942: the table was never created; anything else must surface.
        await c.execute(`DROP TABLE ${table} PURGE`).catch((err: { errorNum?: number }) => {
          if (err.errorNum !== 942) throw err;
        });
      }
    }),
  );

  // TO_CHAR keeps the driver's and the session's time zones out of the comparison entirely.
  const ms = (column: string): string => `TO_CHAR(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.FF3')`;
  const toMs = (v: unknown): number | null => (v === null ? null : Date.parse(`${String(v)}Z`));
  const str = (v: unknown): string | null => (v === null ? null : String(v));

  const readBack = (): Promise<ResultTables> =>
    withConnection(async (c) => {
      const rows = async (sql: string): Promise<unknown[][]> => (await c.execute(sql)).rows ?? [];
      const answers = await rows(
        `SELECT EXAM_ID, STUDENT_ID, QUESTION_ID, VALUE, TO_CHAR(SEQ), ${ms('ANSWERED_AT')}, ${ms('RECEIVED_AT')} FROM ${prefix}ANSWERS`,
      );
      const events = await rows(
        `SELECT EXAM_ID, STUDENT_ID, TO_CHAR(SEQ), KIND, QUESTION_ID, VALUE, ${ms('CLIENT_TS')}, ${ms('SERVER_TS')} FROM ${prefix}EVENTS`,
      );
      const submissions = await rows(`SELECT EXAM_ID, STUDENT_ID, ${ms('SUBMITTED_AT')}, TO_CHAR(LAST_SEQ) FROM ${prefix}SUBMISSIONS`);
      return {
        answers: answers.map((r) => ({
          examId: String(r[0]),
          studentId: String(r[1]),
          questionId: String(r[2]),
          value: str(r[3]),
          seq: Number(r[4]),
          answeredAt: toMs(r[5]),
          receivedAt: toMs(r[6]) ?? Number.NaN,
        })),
        events: events.map((r) => ({
          examId: String(r[0]),
          studentId: String(r[1]),
          seq: Number(r[2]),
          kind: String(r[3]),
          questionId: str(r[4]),
          value: str(r[5]),
          clientTs: toMs(r[6]),
          serverTs: toMs(r[7]) ?? Number.NaN,
        })),
        submissions: submissions.map((r) => ({
          examId: String(r[0]),
          studentId: String(r[1]),
          submittedAt: toMs(r[2]) ?? Number.NaN,
          lastSeq: Number(r[3]),
        })),
      };
    });

  t.test('oracle sink', async (t) => {
    sinkSuite(t, {
      makeSink: () => createSink({ kind: 'oracle', ...credentials, tablePrefix: prefix, batchSize: 1000, poolMax: 4 }),
      readBack,
      emptyAs: 'null',
      students: Number(process.env['UX_TEST_ORACLE_STUDENTS'] ?? 3000),
    });
  });

  t.test('the tables have TIMESTAMP(3) times and NUMBER seqs', async (t) => {
    const columns = await withConnection(async (c) => {
      const r = await c.execute(
        `SELECT TABLE_NAME || '.' || COLUMN_NAME, DATA_TYPE FROM USER_TAB_COLUMNS WHERE TABLE_NAME IN ('${tables.join("', '")}')`,
      );
      return Object.fromEntries((r.rows ?? []).map((row) => [String(row[0]).slice(prefix.length), String(row[1])]));
    });
    t.equal(columns['ANSWERS.ANSWERED_AT'], 'TIMESTAMP(3)');
    t.equal(columns['EVENTS.SERVER_TS'], 'TIMESTAMP(3)');
    t.equal(columns['SUBMISSIONS.SUBMITTED_AT'], 'TIMESTAMP(3)');
    t.equal(columns['EVENTS.SEQ'], 'NUMBER');
  });
}
