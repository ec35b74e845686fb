// The export's baselines on the same rows and the same keyed tables: `psql \copy` (PostgreSQL's own
// limit), better-sqlite3 prepared inserts in big transactions (SQLite's), and naive row-by-row inserts.

import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import pg from 'pg';
import type { AnswerRow, EventRow, SubmissionRow } from '../../src/events/result-rows.js';
import { copyTextPieces } from '../../src/sinks/pg-copy-text.js';
import { PostgresSink } from '../../src/sinks/postgres-sink.js';
import { answerLine, copySql, eventLine, PG_TABLES, submissionLine, type PgTable } from '../../src/sinks/postgres-sql.js';
import { SqliteSink } from '../../src/sinks/sqlite-sink.js';
import { tableNames } from '../../src/sinks/table-names.js';
import { readBucketRows } from './export-data.js';

const run = promisify(execFile);

const LINES: { [T in PgTable]: (row: never) => string } = {
  events: eventLine as (row: never) => string,
  answers: answerLine as (row: never) => string,
  submissions: submissionLine as (row: never) => string,
};

/** The COPY column list of a final table, as the sink's own COPY names it. */
function columnsOf(table: PgTable): string {
  return /\(([^)]*)\) FROM STDIN/.exec(copySql(table))![1]!;
}

/** Writes every bucket's rows to one COPY-text file per table (not timed). */
export async function dumpCopyFiles(redis: Redis, exam: string, buckets: number, dir: string): Promise<Record<PgTable, string>> {
  const paths = { events: `${dir}/events.copy`, answers: `${dir}/answers.copy`, submissions: `${dir}/submissions.copy` };
  const streams = Object.fromEntries(PG_TABLES.map((table) => [table, createWriteStream(paths[table])])) as Record<PgTable, ReturnType<typeof createWriteStream>>;
  for (let bucket = 0; bucket < buckets; bucket++) {
    const rows = await readBucketRows(redis, exam, bucket);
    for (const table of PG_TABLES) {
      for (const piece of copyTextPieces(rows[table] as never[], LINES[table])) {
        if (!streams[table].write(piece)) await once(streams[table], 'drain');
      }
    }
  }
  await Promise.all(PG_TABLES.map((table) => new Promise((resolve) => streams[table].end(resolve))));
  return paths;
}

/** Creates the final tables of `prefix` exactly as the PostgreSQL sink does. */
export async function createPgTables(url: string, prefix: string): Promise<void> {
  const sink = new PostgresSink({ url, tablePrefix: prefix });
  try {
    await sink.ensureTables();
  } finally {
    await sink.close();
  }
}

/** `psql \copy` of every file into the keyed tables of `prefix`; returns seconds. */
export async function psqlCopy(url: string, prefix: string, files: Record<PgTable, string>): Promise<number> {
  await createPgTables(url, prefix);
  const names = tableNames(prefix, 'lower');
  const started = performance.now();
  for (const table of PG_TABLES) {
    await run('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `\\copy ${names[table]} (${columnsOf(table)}) FROM '${files[table]}'`]);
  }
  return (performance.now() - started) / 1000;
}

/** One INSERT per row, each its own transaction, for the first `limit` event rows; returns rows/s. */
export async function pgRowByRow(url: string, prefix: string, redis: Redis, exam: string, buckets: number, limit: number): Promise<number> {
  await createPgTables(url, prefix);
  const names = tableNames(prefix, 'lower');
  const rows = await sampleEvents(redis, exam, buckets, limit);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = performance.now();
    for (const r of rows) {
      await client.query(
        `INSERT INTO ${names.events} (exam_id, student_id, seq, kind, question_id, value, client_ts, server_ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [r.examId, r.studentId, r.seq, r.kind, r.questionId, r.value, r.clientTs === null ? null : new Date(r.clientTs), new Date(r.serverTs)],
      );
    }
    return rows.length / ((performance.now() - started) / 1000);
  } finally {
    await client.end();
  }
}

async function sampleEvents(redis: Redis, exam: string, buckets: number, limit: number): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  for (let bucket = 0; bucket < buckets && rows.length < limit; bucket++) rows.push(...(await readBucketRows(redis, exam, bucket)).events);
  return rows.slice(0, limit);
}

/** Opens a SQLite file whose tables the SQLite sink created, with the sink's pragmas. */
async function openSqlite(path: string, prefix: string): Promise<Database.Database> {
  const sink = new SqliteSink({ path, tablePrefix: prefix });
  await sink.ensureTables();
  await sink.close();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

function sqliteInserts(db: Database.Database, prefix: string) {
  const names = tableNames(prefix, 'lower');
  const ev = db.prepare(`INSERT INTO ${names.events} (exam_id, student_id, seq, kind, question_id, value, client_ts, server_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const an = db.prepare(`INSERT INTO ${names.answers} (exam_id, student_id, question_id, value, seq, answered_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const su = db.prepare(`INSERT INTO ${names.submissions} (exam_id, student_id, submitted_at, last_seq) VALUES (?, ?, ?, ?)`);
  return {
    event: (r: EventRow) => ev.run(r.examId, r.studentId, r.seq, r.kind, r.questionId, r.value, r.clientTs, r.serverTs),
    answer: (r: AnswerRow) => an.run(r.examId, r.studentId, r.questionId, r.value, r.seq, r.answeredAt, r.receivedAt),
    submission: (r: SubmissionRow) => su.run(r.examId, r.studentId, r.submittedAt, r.lastSeq),
  };
}

/**
 * Prepared inserts of every row in transactions of `rowsPerTransaction`, reading each bucket from
 * Redis untimed first; returns the seconds spent inserting and committing.
 */
export async function sqlitePrepared(path: string, prefix: string, redis: Redis, exam: string, buckets: number, rowsPerTransaction = 50_000): Promise<{ seconds: number; rows: number }> {
  const db = await openSqlite(path, prefix);
  try {
    const insert = sqliteInserts(db, prefix);
    let seconds = 0;
    let rows = 0;
    let inTransaction = 0;
    const begin = db.prepare('BEGIN');
    const commit = db.prepare('COMMIT');
    for (let bucket = 0; bucket < buckets; bucket++) {
      const data = await readBucketRows(redis, exam, bucket);
      const started = performance.now();
      const all: Array<() => unknown> = [];
      for (const r of data.events) all.push(() => insert.event(r));
      for (const r of data.answers) all.push(() => insert.answer(r));
      for (const r of data.submissions) all.push(() => insert.submission(r));
      for (const write of all) {
        if (inTransaction === 0) begin.run();
        write();
        rows++;
        if (++inTransaction === rowsPerTransaction) {
          commit.run();
          inTransaction = 0;
        }
      }
      seconds += (performance.now() - started) / 1000;
    }
    const started = performance.now();
    if (inTransaction > 0) commit.run();
    seconds += (performance.now() - started) / 1000;
    return { seconds, rows };
  } finally {
    db.close();
  }
}

/** One autocommitted INSERT per event row (a transaction and an fsync each); returns rows/s. */
export async function sqliteRowByRow(path: string, prefix: string, redis: Redis, exam: string, buckets: number, limit: number): Promise<number> {
  const db = await openSqlite(path, prefix);
  try {
    const insert = sqliteInserts(db, prefix);
    const rows = await sampleEvents(redis, exam, buckets, limit);
    const started = performance.now();
    for (const r of rows) insert.event(r);
    return rows.length / ((performance.now() - started) / 1000);
  } finally {
    db.close();
  }
}
