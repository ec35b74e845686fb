// The SQLite result sink (better-sqlite3): chunks go to per-bucket TEMP staging tables, and
// commit moves them into the final tables with one short IMMEDIATE upsert transaction.

import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AnswerRow, EventRow, SubmissionRow } from '../events/result-rows.js';
import { BucketWriteBase } from './bucket-write-base.js';
import { OpenBucketWrites } from './open-bucket-writes.js';
import type { BucketWrite, ResultSink } from './result-sink.js';
import { toSinkError } from './sink-errors.js';
import { inWriteTransaction } from './sqlite-write-lock.js';
import { tableNames, type TableNames } from './table-names.js';

export interface SqliteSinkOptions {
  path: string;
  tablePrefix: string;
  /** How long a writer waits for another connection's write lock. Default 30000. */
  busyTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 30_000;

/** Columns per table, in bind order; times are INTEGER ms since the epoch (section 5). */
const COLUMNS = {
  answers: ['exam_id', 'student_id', 'question_id', 'value', 'seq', 'answered_at', 'received_at'],
  events: ['exam_id', 'student_id', 'seq', 'kind', 'question_id', 'value', 'client_ts', 'server_ts'],
  submissions: ['exam_id', 'student_id', 'submitted_at', 'last_seq'],
} as const;

const KEYS = {
  answers: ['exam_id', 'student_id', 'question_id'],
  events: ['exam_id', 'student_id', 'seq'],
  submissions: ['exam_id', 'student_id'],
} as const;

const TEXT_COLUMNS: ReadonlySet<string> = new Set(['exam_id', 'student_id', 'question_id', 'value', 'kind']);

type Table = keyof typeof COLUMNS;
const TABLES: readonly Table[] = ['events', 'answers', 'submissions'];

function createTableSql(names: TableNames): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${names.answers} (exam_id TEXT NOT NULL, student_id TEXT NOT NULL, ` +
      'question_id TEXT NOT NULL, value TEXT, seq INTEGER NOT NULL, answered_at INTEGER, received_at INTEGER NOT NULL, ' +
      'PRIMARY KEY (exam_id, student_id, question_id))',
    `CREATE TABLE IF NOT EXISTS ${names.events} (exam_id TEXT NOT NULL, student_id TEXT NOT NULL, ` +
      'seq INTEGER NOT NULL, kind TEXT NOT NULL, question_id TEXT, value TEXT, client_ts INTEGER, server_ts INTEGER NOT NULL, ' +
      'PRIMARY KEY (exam_id, student_id, seq))',
    `CREATE TABLE IF NOT EXISTS ${names.submissions} (exam_id TEXT NOT NULL, student_id TEXT NOT NULL, ` +
      'submitted_at INTEGER NOT NULL, last_seq INTEGER NOT NULL, PRIMARY KEY (exam_id, student_id))',
  ];
}

/**
 * Staged rows go in rowid order, so among equal keys the later chunk wins; answers keep the
 * highest seq (the WHERE on the update), which makes a rerun with older data harmless. Event rows
 * are the audit log and are never rewritten once stored (see postgres-sql.ts).
 */
function mergeSql(table: Table, target: string, stage: string): string {
  const cols = COLUMNS[table].join(', ');
  const keys: readonly string[] = KEYS[table];
  const updates = COLUMNS[table]
    .filter((c) => !keys.includes(c))
    .map((c) => `${c} = excluded.${c}`)
    .join(', ');
  const guard = table === 'answers' ? ' WHERE excluded.seq >= t.seq' : '';
  const onConflict = table === 'events' ? 'DO NOTHING' : `DO UPDATE SET ${updates}${guard}`;
  // "WHERE true" keeps SQLite's parser from reading ON CONFLICT as a join constraint.
  return (
    `INSERT INTO main.${target} AS t (${cols}) SELECT ${cols} FROM temp.${stage} WHERE true ORDER BY rowid ` +
    `ON CONFLICT (${keys.join(', ')}) ${onConflict}`
  );
}

export class SqliteSink implements ResultSink {
  readonly kind = 'sqlite' as const;
  private readonly names: TableNames;
  private db: Database.Database | undefined;
  private stageCounter = 0;
  private readonly open = new OpenBucketWrites(this.kind);

  constructor(private readonly options: SqliteSinkOptions) {
    this.names = tableNames(options.tablePrefix, 'lower');
  }

  async ping(): Promise<void> {
    const db = this.connection('checking the database');
    try {
      db.prepare('SELECT 1').get();
    } catch (err) {
      throw toSinkError('sqlite', err, 'checking the database');
    }
  }

  async ensureTables(): Promise<void> {
    const db = this.connection('creating tables');
    try {
      await inWriteTransaction(db, () => {
        for (const sql of createTableSql(this.names)) db.exec(sql);
      }, this.busyTimeoutMs);
    } catch (err) {
      throw toSinkError('sqlite', err, `creating tables in ${this.options.path}`);
    }
  }

  async beginBucket(exam: string, bucket: number): Promise<BucketWrite> {
    const db = this.connection('beginning a bucket');
    const label = `exam ${exam} bucket ${bucket}`;
    let write: SqliteBucketWrite;
    try {
      write = new SqliteBucketWrite(db, this.names, `untradex_stage${++this.stageCounter}`, label, this.busyTimeoutMs, this.open.finished);
    } catch (err) {
      throw toSinkError('sqlite', err, `staging ${label}`);
    }
    return this.open.add(write);
  }

  close(): Promise<void> {
    return this.open.close(() => {
      this.db?.close();
      this.db = undefined;
    }, `closing ${this.options.path}`);
  }

  private get busyTimeoutMs(): number {
    return this.options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  }

  /** Opens on first use, so constructing a sink never touches the disk. */
  private connection(doing: string): Database.Database {
    this.open.refuseIfClosed(doing);
    if (this.db !== undefined) return this.db;
    const { path } = this.options;
    try {
      if (path !== ':memory:') {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        // The results are every student's answers: created 0600, and SQLite gives its -wal and
        // -shm files the same mode as the database file.
        closeSync(openSync(path, 'a', 0o600));
      }
      const db = new Database(path, { timeout: this.busyTimeoutMs });
      // WAL lets readers and other writers' staging proceed while one bucket merges.
      db.pragma('journal_mode = WAL');
      // The exporter marks a bucket done in Redis right after commit, so the commit must survive
      // power loss: this build's WAL default (NORMAL) could lose the last transactions.
      db.pragma('synchronous = FULL');
      // Staged rows (one bucket's, then dropped) never need a disk: a temp file only adds writes.
      db.pragma('temp_store = MEMORY');
      this.db = db;
      return db;
    } catch (err) {
      throw toSinkError('sqlite', err, `opening ${path}`);
    }
  }
}

/**
 * Why stage instead of holding one transaction open across chunks: SQLite has one writer at a
 * time, and the exporter awaits Redis between chunks, so an open write transaction would lock
 * out every other exporter for the whole bucket. TEMP tables live in this connection's own temp
 * file (not in Node's heap, so a 100k-row bucket costs no memory here) and take no lock on the
 * results file; only the final merge does, briefly.
 */
class SqliteBucketWrite extends BucketWriteBase {
  private readonly stages: Record<Table, string>;
  private readonly inserts: Record<Table, Database.Statement>;

  constructor(
    private readonly db: Database.Database,
    private readonly names: TableNames,
    stagePrefix: string,
    label: string,
    private readonly busyTimeoutMs: number,
    onFinished: (write: BucketWriteBase) => void,
  ) {
    super('sqlite', label, onFinished);
    this.stages = { answers: `${stagePrefix}_answers`, events: `${stagePrefix}_events`, submissions: `${stagePrefix}_submissions` };
    for (const table of TABLES) {
      const cols = COLUMNS[table].map((c) => `${c} ${TEXT_COLUMNS.has(c) ? 'TEXT' : 'INTEGER'}`);
      db.exec(`CREATE TEMP TABLE ${this.stages[table]} (${cols.join(', ')})`);
    }
    const insert = (table: Table): Database.Statement =>
      db.prepare(`INSERT INTO temp.${this.stages[table]} (${COLUMNS[table].join(', ')}) VALUES (${COLUMNS[table].map(() => '?').join(', ')})`);
    this.inserts = { answers: insert('answers'), events: insert('events'), submissions: insert('submissions') };
  }

  protected async writeEvents(rows: readonly EventRow[]): Promise<void> {
    const stmt = this.inserts.events;
    this.db.transaction(() => {
      for (const r of rows) stmt.run(r.examId, r.studentId, r.seq, r.kind, r.questionId, r.value, r.clientTs, r.serverTs);
    })();
  }

  protected async writeAnswers(rows: readonly AnswerRow[]): Promise<void> {
    const stmt = this.inserts.answers;
    this.db.transaction(() => {
      for (const r of rows) stmt.run(r.examId, r.studentId, r.questionId, r.value, r.seq, r.answeredAt, r.receivedAt);
    })();
  }

  protected async writeSubmissions(rows: readonly SubmissionRow[]): Promise<void> {
    const stmt = this.inserts.submissions;
    this.db.transaction(() => {
      for (const r of rows) stmt.run(r.examId, r.studentId, r.submittedAt, r.lastSeq);
    })();
  }

  protected async commitStaged(): Promise<void> {
    const merges = TABLES.map((table) => this.db.prepare(mergeSql(table, this.names[table], this.stages[table])));
    // IMMEDIATE takes the write lock up front (waiting up to busyTimeoutMs); a deferred transaction
    // that upgrades later can fail at once with SQLITE_BUSY under WAL instead of waiting.
    await inWriteTransaction(this.db, () => {
      for (const merge of merges) merge.run();
    }, this.busyTimeoutMs);
    this.dropStages();
  }

  /** Every statement here runs synchronously, so no transaction is ever left open to roll back. */
  protected async discard(): Promise<void> {
    this.dropStages();
  }

  private dropStages(): void {
    if (!this.db.open) return;
    for (const table of TABLES) this.db.exec(`DROP TABLE IF EXISTS temp.${this.stages[table]}`);
  }
}
