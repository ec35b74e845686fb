// The Oracle result sink (node-oracledb thin mode, a connection pool): each bucket is one
// transaction of executeMany MERGE batches with typed bind definitions, committed at the end.

import { ConfigError, SinkError } from '../errors.js';
import type { AnswerRow, EventRow, SubmissionRow } from '../events/result-rows.js';
import { BucketWriteBase } from './bucket-write-base.js';
import { OpenBucketWrites } from './open-bucket-writes.js';
import {
  loadOracleDb,
  type OracleBatchError,
  type OracleBindValue,
  type OracleConnection,
  type OracleDbModule,
  type OraclePool,
} from './oracle-api.js';
import {
  answerBinds,
  bindDefs,
  createTableSql,
  eventBinds,
  mergeSql,
  ORACLE_MAX_VALUE_BYTES,
  ORACLE_TABLES,
  submissionBinds,
  type OracleTable,
} from './oracle-sql.js';
import type { BucketWrite, ResultSink } from './result-sink.js';
import { isTransientOracleError, oracleErrorNum, toSinkError } from './sink-errors.js';
import { tableNames, type TableNames } from './table-names.js';

export interface OracleSinkOptions {
  user: string;
  password: string;
  /** Easy Connect (host:port/service) or a TNS alias. */
  connectString: string;
  tablePrefix: string;
  /** Rows per executeMany call. */
  batchSize: number;
  /** Pool size: one connection per bucket written at once. */
  poolMax: number;
  /** How long a bucket waits for a pooled connection before failing transiently. Default 60000. */
  queueTimeoutMs?: number;
  /** The node-oracledb module; tests pass a recording fake. Default: the real driver. */
  oracledb?: OracleDbModule;
}

/** ORA-00955: name is already used by an existing object (another sink created the table first). */
const ORA_NAME_ALREADY_USED = 955;
/** Batch errors quoted in a failure message; the rest are counted. */
const QUOTED_BATCH_ERRORS = 3;

export class OracleSink implements ResultSink {
  readonly kind = 'oracle' as const;
  private readonly names: TableNames;
  private pool: Promise<OraclePool> | undefined;
  private driver: OracleDbModule | undefined;
  private readonly open = new OpenBucketWrites(this.kind);

  constructor(private readonly options: OracleSinkOptions) {
    this.names = tableNames(options.tablePrefix, 'upper');
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new ConfigError('export.oracle.batchSize', `must be a positive integer, got ${options.batchSize}`);
    }
    this.driver = options.oracledb;
  }

  async ping(): Promise<void> {
    const connection = await this.connect('checking the connection');
    try {
      await connection.execute('SELECT 1 FROM DUAL');
    } catch (err) {
      // The failed query is what the caller needs to hear; a failure to drop the connection too adds nothing.
      await connection.close({ drop: true }).catch(() => undefined);
      throw toSinkError('oracle', err, 'checking the connection');
    }
    await connection.close();
  }

  async ensureTables(): Promise<void> {
    const connection = await this.connect('creating tables');
    let broken = false;
    try {
      for (const table of ORACLE_TABLES) {
        try {
          // DDL commits implicitly in Oracle; each table either exists afterwards or we throw.
          await connection.execute(createTableSql(table, this.names));
        } catch (err) {
          if (oracleErrorNum(err) !== ORA_NAME_ALREADY_USED) throw err;
        }
      }
    } catch (err) {
      const error = toSinkError('oracle', err, 'creating tables');
      broken = error.transient;
      throw error;
    } finally {
      await connection.close({ drop: broken });
    }
  }

  async beginBucket(exam: string, bucket: number): Promise<BucketWrite> {
    const label = `exam ${exam} bucket ${bucket}`;
    const connection = await this.connect(`beginning ${label}`);
    return this.open.add(new OracleBucketWrite(connection, this.driverModule(), this.names, this.options.batchSize, label, this.open.finished));
  }

  close(): Promise<void> {
    return this.open.close(async () => {
      // A pool that never came up has nothing to close; its failure already reached whoever asked for it.
      const pool = await this.pool?.catch(() => undefined);
      // Every bucket has released its connection by now, so no drain time is needed.
      await pool?.close(0);
    });
  }

  private driverModule(): OracleDbModule {
    this.driver ??= loadOracleDb();
    return this.driver;
  }

  private async connect(doing: string): Promise<OracleConnection> {
    this.open.refuseIfClosed(doing);
    try {
      const pool = await this.poolOnce();
      return await pool.getConnection();
    } catch (err) {
      throw toSinkError('oracle', err, `connecting for ${doing}`);
    }
  }

  /** Creates the pool on first use; a failed creation is forgotten so the next call tries again. */
  private poolOnce(): Promise<OraclePool> {
    if (this.pool === undefined) {
      const { user, password, connectString, poolMax } = this.options;
      const created = this.driverModule().createPool({
        user,
        password,
        connectString,
        poolMin: 0,
        poolMax,
        poolIncrement: 1,
        queueTimeout: this.options.queueTimeoutMs ?? 60_000,
      });
      this.pool = created;
      created.catch(() => {
        if (this.pool === created) this.pool = undefined;
      });
    }
    return this.pool;
  }
}

/**
 * Why MERGE straight into the final tables instead of staging in global temporary tables: the
 * institution's DBA grants three tables and nothing else; rows flow to the database chunk by
 * chunk, so neither Node nor the temp tablespace holds a bucket; executeMany still sends a whole
 * batch per round trip; and a key staged twice needs no dedup (ORA-30926) because each row is
 * its own MERGE. Uncommitted rows stay invisible and locked only for this bucket's keys.
 */
class OracleBucketWrite extends BucketWriteBase {
  private released = false;

  constructor(
    private readonly connection: OracleConnection,
    private readonly oracledb: OracleDbModule,
    private readonly names: TableNames,
    private readonly batchSize: number,
    label: string,
    onFinished: (write: BucketWriteBase) => void,
  ) {
    super('oracle', label, onFinished);
  }

  protected writeEvents(rows: readonly EventRow[]): Promise<void> {
    return this.merge('events', rows, eventBinds, (r) => r.value);
  }

  protected writeAnswers(rows: readonly AnswerRow[]): Promise<void> {
    return this.merge('answers', rows, answerBinds, (r) => r.value);
  }

  protected writeSubmissions(rows: readonly SubmissionRow[]): Promise<void> {
    return this.merge('submissions', rows, submissionBinds, () => null);
  }

  protected async commitStaged(): Promise<void> {
    await this.connection.commit();
    await this.release(false);
  }

  protected async discard(broken: boolean): Promise<void> {
    if (this.released) return;
    if (broken) {
      // Dropping the session ends its transaction server-side; a rollback on it would only hang or fail.
      await this.release(true);
      return;
    }
    try {
      await this.connection.rollback();
    } catch (err) {
      await this.release(true);
      throw err;
    }
    await this.release(false);
  }

  private async merge<R>(
    table: OracleTable,
    rows: readonly R[],
    binds: (row: R) => OracleBindValue[],
    valueOf: (row: R) => string | null,
  ): Promise<void> {
    const sql = mergeSql(table, this.names);
    for (let start = 0; start < rows.length; start += this.batchSize) {
      const batch = rows.slice(start, start + this.batchSize);
      const valueBytes = longestValue(batch.map(valueOf), start);
      const result = await this.connection.executeMany(sql, batch.map(binds), {
        autoCommit: false,
        batchErrors: true,
        bindDefs: bindDefs(table, this.oracledb, valueBytes),
      });
      if (result.batchErrors !== undefined && result.batchErrors.length > 0) {
        throw batchFailure(table, result.batchErrors, start, batch.length);
      }
    }
  }

  private async release(drop: boolean): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.connection.close({ drop });
  }
}

/** The batch's longest value in bytes; a value over VARCHAR2's limit fails here, naming its row. */
function longestValue(values: readonly (string | null)[], start: number): number {
  let longest = 0;
  values.forEach((value, i) => {
    const bytes = value === null ? 0 : Buffer.byteLength(value, 'utf8');
    if (bytes > ORACLE_MAX_VALUE_BYTES) {
      throw new SinkError(false, `oracle sink: row ${start + i} has a ${bytes}-byte value; VARCHAR2 holds ${ORACLE_MAX_VALUE_BYTES}`);
    }
    longest = Math.max(longest, bytes);
  });
  return longest;
}

/** Partial failure is data: name the rows that failed, and retry only if every cause is transient. */
function batchFailure(table: OracleTable, errors: readonly OracleBatchError[], start: number, size: number): SinkError {
  const quoted = errors
    .slice(0, QUOTED_BATCH_ERRORS)
    .map((e) => `row ${start + e.offset}: ${e.message}`)
    .join('; ');
  const more = errors.length > QUOTED_BATCH_ERRORS ? ` (and ${errors.length - QUOTED_BATCH_ERRORS} more)` : '';
  const transient = errors.every((e) => isTransientOracleError(e));
  return new SinkError(
    transient,
    `oracle sink: ${errors.length} of ${size} rows of a ${table} batch were refused: ${quoted}${more}`,
    { cause: errors[0] },
  );
}
