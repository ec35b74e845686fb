// The PostgreSQL result sink (pg + pg-copy-streams): each bucket is one transaction that COPYs its
// chunks straight into the final tables (first export), or into staging tables merged at commit.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { SinkError, SinkKeyConflictError } from '../errors.js';
import type { AnswerRow, EventRow, SubmissionRow } from '../events/result-rows.js';
import { BucketWriteBase } from './bucket-write-base.js';
import { OpenBucketWrites } from './open-bucket-writes.js';
import { copyTextPieces } from './pg-copy-text.js';
import {
  answerLine,
  copyIntoTableSql,
  copySql,
  createStageSql,
  createTableSql,
  eventLine,
  mergeSql,
  PG_TABLES,
  submissionLine,
  type PgTable,
} from './postgres-sql.js';
import type { BucketWrite, BucketWriteOptions, ResultSink } from './result-sink.js';
import { toSinkError } from './sink-errors.js';
import { tableNames, type TableNames } from './table-names.js';

export interface PostgresSinkOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  tablePrefix: string;
  /** Connections this sink may hold: one per bucket written at once. Default 4. */
  poolMax?: number;
  /** How long to wait for a connection before failing transiently. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * Told when an idle pooled connection dies (the pool already discarded it, so nothing else
   * needs doing); without a listener pg would crash the process on that event.
   */
  onIdleError?: (error: SinkError) => void;
}

const DEFAULTS = { poolMax: 4, connectTimeoutMs: 10_000 } as const;

/** Serializes concurrent ensureTables() calls from any process: CREATE IF NOT EXISTS races on the catalog. */
const DDL_LOCK_KEY = 'untradex:ensure-tables';

export class PostgresSink implements ResultSink {
  readonly kind = 'postgres' as const;
  private readonly names: TableNames;
  private readonly pool: pg.Pool;
  private readonly open = new OpenBucketWrites(this.kind);

  constructor(private readonly options: PostgresSinkOptions) {
    this.names = tableNames(options.tablePrefix, 'lower');
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax ?? DEFAULTS.poolMax,
      connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    });
    this.pool.on('error', (err) => options.onIdleError?.(toSinkError('postgres', err, 'keeping an idle connection')));
  }

  async ping(): Promise<void> {
    await this.withClient('checking the connection', async (client, broke) => {
      try {
        await client.query('SELECT 1');
      } catch (err) {
        broke();
        throw toSinkError('postgres', err, 'checking the connection');
      }
    });
  }

  async ensureTables(): Promise<void> {
    await this.withClient('creating tables', async (client, broke) => {
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [DDL_LOCK_KEY]);
        for (const table of PG_TABLES) await client.query(createTableSql(table, this.names));
        await client.query('COMMIT');
      } catch (err) {
        const error = toSinkError('postgres', err, 'creating tables');
        if (error.transient) broke();
        // A failed ROLLBACK means the session is unusable: destroy it rather than pool it.
        else await client.query('ROLLBACK').catch(broke);
        throw error;
      }
    });
  }

  async beginBucket(exam: string, bucket: number, options: BucketWriteOptions = {}): Promise<BucketWrite> {
    const label = `exam ${exam} bucket ${bucket}`;
    const client = await this.connect(`beginning ${label}`);
    const write = this.open.add(new PostgresBucketWrite(client, this.names, label, options.load ?? 'upsert', this.open.finished));
    await write.start();
    return write;
  }

  close(): Promise<void> {
    return this.open.close(() => this.pool.end());
  }

  /**
   * Runs `work` on a client checked out for `doing`, then returns it to the pool, or destroys it if
   * it broke: an 'error' event, or `work` calling broke() because the session is no longer usable.
   */
  private async withClient(doing: string, work: (client: pg.PoolClient, broke: () => void) => Promise<void>): Promise<void> {
    const client = await this.connect(doing);
    let broken = false;
    const broke = (): void => {
      broken = true;
    };
    // Checked out, the client has no pool listener: an unheard 'error' would crash the process.
    client.on('error', broke);
    try {
      await work(client, broke);
    } finally {
      client.off('error', broke);
      client.release(broken);
    }
  }

  private async connect(doing: string): Promise<pg.PoolClient> {
    this.open.refuseIfClosed(doing);
    try {
      return await this.pool.connect();
    } catch (err) {
      throw toSinkError('postgres', err, `connecting for ${doing}`);
    }
  }
}

/** A unique index refused a row: SQLSTATE 23505. */
const UNIQUE_VIOLATION = '23505';

/**
 * `insert`: COPY into the final tables, the way psql's \copy loads them: one pass over the data and
 * the indexes, nothing staged, and the primary keys refuse any row a committed export already wrote.
 * `upsert`: COPY into TEMP staging tables, merged into the final tables by key at commit, so a
 * bucket written again leaves one row per key (reruns, and the load after an `insert` conflict).
 */
class PostgresBucketWrite extends BucketWriteBase {
  /** A connection error that arrived while no query ran; the next step reports it. */
  private connectionError: Error | undefined;
  private readonly onClientError = (err: Error): void => {
    this.connectionError = err;
  };
  private released = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly names: TableNames,
    label: string,
    private readonly load: 'insert' | 'upsert',
    onFinished: (write: BucketWriteBase) => void,
  ) {
    super('postgres', label, onFinished);
    // A checked-out client has no pool listener; an unheard 'error' would crash the process.
    client.on('error', this.onClientError);
  }

  /** BEGIN, and for an upsert the staging tables, in one round trip (the simple-query protocol runs them in order). */
  start(): Promise<void> {
    const statements = this.load === 'insert' ? ['BEGIN'] : ['BEGIN', ...PG_TABLES.map(createStageSql)];
    return this.runStep('beginning', () => this.client.query(statements.join('; ')).then(() => undefined));
  }

  protected writeEvents(rows: readonly EventRow[]): Promise<void> {
    return this.copy('events', rows, eventLine);
  }

  protected writeAnswers(rows: readonly AnswerRow[]): Promise<void> {
    return this.copy('answers', rows, answerLine);
  }

  protected writeSubmissions(rows: readonly SubmissionRow[]): Promise<void> {
    return this.copy('submissions', rows, submissionLine);
  }

  protected async commitStaged(): Promise<void> {
    this.throwIfBroken();
    if (this.load === 'upsert') for (const table of PG_TABLES) await this.client.query(mergeSql(table, this.names));
    await this.client.query('COMMIT');
    this.release(false);
  }

  protected async discard(broken: boolean): Promise<void> {
    if (this.released) return;
    if (broken || this.connectionError !== undefined) {
      // The session is gone or suspect: destroying it ends the transaction server-side too.
      this.release(true);
      return;
    }
    try {
      await this.client.query('ROLLBACK');
    } catch (err) {
      this.release(true);
      throw err;
    }
    this.release(false);
  }

  private async copy<R>(table: PgTable, rows: readonly R[], line: (row: R) => string): Promise<void> {
    this.throwIfBroken();
    const sql = this.load === 'insert' ? copyIntoTableSql(table, this.names) : copySql(table);
    const ingest = this.client.query(copyFrom(sql));
    try {
      await pipeline(Readable.from(copyTextPieces(rows, line)), ingest);
    } catch (err) {
      if (this.load === 'insert' && (err as { code?: unknown }).code === UNIQUE_VIOLATION) {
        throw new SinkKeyConflictError(
          `postgres sink: ${this.label} was loaded before (${(err as Error).message} in ${this.names[table]}); ` +
            'nothing of this attempt is kept: load the bucket again with upsert',
          { cause: err },
        );
      }
      throw err;
    }
  }

  private throwIfBroken(): void {
    if (this.connectionError !== undefined) throw this.connectionError;
  }

  private release(destroy: boolean): void {
    if (this.released) return;
    this.released = true;
    this.client.off('error', this.onClientError);
    this.client.release(destroy);
  }
}
