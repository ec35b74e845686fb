// The shared sink suite against the machine's PostgreSQL, plus the schema section 5 asks for
// (timestamptz with millisecond precision, bigint seqs, primary keys).

import t from 'tap';
import { createSink } from '../../../src/sinks/create-sink.js';
import { dropTables, POSTGRES_URL, readResultTables, uniquePrefix, withPgClient } from '../../helpers/postgres.js';
import { sinkSuite } from './sink-suite.js';

const prefix = uniquePrefix();
t.teardown(() => dropTables(prefix));

t.test('postgres sink', async (t) => {
  sinkSuite(t, {
    makeSink: () => createSink({ kind: 'postgres', url: POSTGRES_URL, tablePrefix: prefix }),
    readBack: () => readResultTables(prefix),
    emptyAs: 'empty',
  });
});

t.test('the tables have the types and primary keys of section 5', async (t) => {
  const columns = await withPgClient(async (c) => {
    const result = await c.query<{ table_name: string; column_name: string; data_type: string; datetime_precision: number | null }>(
      `SELECT table_name, column_name, data_type, datetime_precision FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = ANY($1) ORDER BY table_name, ordinal_position`,
      [[`${prefix}answers`, `${prefix}events`, `${prefix}submissions`]],
    );
    return result.rows;
  });
  const type = (table: string, column: string): string => {
    const c = columns.find((r) => r.table_name === `${prefix}${table}` && r.column_name === column);
    return c === undefined ? 'missing' : `${c.data_type}${c.datetime_precision === null ? '' : `(${c.datetime_precision})`}`;
  };
  const tz3 = 'timestamp with time zone(3)';
  t.same(
    ['answered_at', 'received_at'].map((c) => type('answers', c)),
    [tz3, tz3],
  );
  t.same(
    ['client_ts', 'server_ts'].map((c) => type('events', c)),
    [tz3, tz3],
  );
  t.equal(type('submissions', 'submitted_at'), tz3);
  t.same([type('answers', 'seq'), type('events', 'seq'), type('submissions', 'last_seq')], ['bigint', 'bigint', 'bigint']);
  t.same(
    columns.filter((c) => c.table_name === `${prefix}answers`).map((c) => c.column_name),
    ['exam_id', 'student_id', 'question_id', 'value', 'seq', 'answered_at', 'received_at'],
  );

  const keys = await withPgClient(async (c) => {
    const result = await c.query<{ table_name: string; columns: string[] }>(
      `SELECT tc.table_name, array_agg(kcu.column_name::text ORDER BY kcu.ordinal_position) AS columns
       FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name)
       WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_name = ANY($1) GROUP BY tc.table_name ORDER BY tc.table_name`,
      [[`${prefix}answers`, `${prefix}events`, `${prefix}submissions`]],
    );
    return Object.fromEntries(result.rows.map((r) => [r.table_name.slice(prefix.length), r.columns]));
  });
  t.same(keys, {
    answers: ['exam_id', 'student_id', 'question_id'],
    events: ['exam_id', 'student_id', 'seq'],
    submissions: ['exam_id', 'student_id'],
  });
});

t.test('a missing export.postgres.url is a ConfigError naming the key', async (t) => {
  t.throws(() => createSink({ kind: 'postgres', url: null, tablePrefix: prefix }), { code: 'UX_ERR_CONFIG', key: 'export.postgres.url' });
});
