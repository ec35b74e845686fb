// The slice of node-oracledb (thin mode) the Oracle sink uses, typed here because the package
// ships no declarations; the unit tests implement the same slice as a recording fake.

import { createRequire } from 'node:module';

/** A node-oracledb DbType constant (oracledb.DB_TYPE_VARCHAR, ...); opaque to us. */
export type OracleDbType = object;

export interface OracleBindDef {
  type: OracleDbType;
  /** Bytes; node-oracledb requires it for strings in executeMany and rejects longer values (NJS-058). */
  maxSize?: number;
}

export type OracleBindValue = string | number | null;

export interface OracleExecuteManyOptions {
  autoCommit: boolean;
  /** Data errors of single rows come back in `batchErrors` instead of aborting the call. */
  batchErrors: boolean;
  bindDefs: readonly OracleBindDef[];
}

export interface OracleBatchError {
  message: string;
  /** The row of the executeMany call that failed (0-based). */
  offset: number;
  errorNum?: number;
  code?: string;
}

export interface OracleExecuteManyResult {
  rowsAffected?: number;
  batchErrors?: readonly OracleBatchError[];
}

export interface OracleExecuteResult {
  rows?: unknown[];
  rowsAffected?: number;
}

export interface OracleConnection {
  execute(sql: string, binds?: readonly OracleBindValue[], options?: { autoCommit?: boolean }): Promise<OracleExecuteResult>;
  executeMany(sql: string, binds: OracleBindValue[][], options: OracleExecuteManyOptions): Promise<OracleExecuteManyResult>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Returns the connection to its pool; `drop` closes it instead (after a broken connection). */
  close(options?: { drop: boolean }): Promise<void>;
}

export interface OraclePoolAttributes {
  user: string;
  password: string;
  connectString: string;
  poolMin: number;
  poolMax: number;
  poolIncrement: number;
  /** Milliseconds a getConnection() waits for a free connection before NJS-040. */
  queueTimeout: number;
}

export interface OraclePool {
  getConnection(): Promise<OracleConnection>;
  /** drainTime in seconds; 0 closes at once. */
  close(drainTime?: number): Promise<void>;
}

export interface OracleDbModule {
  readonly DB_TYPE_VARCHAR: OracleDbType;
  readonly DB_TYPE_NUMBER: OracleDbType;
  createPool(attributes: OraclePoolAttributes): Promise<OraclePool>;
}

/**
 * Loads the real driver on first use only, so SQLite and PostgreSQL users never load it. Thin
 * mode is node-oracledb's default from 6.0 on: nothing calls initOracleClient().
 */
export function loadOracleDb(): OracleDbModule {
  return createRequire(import.meta.url)('oracledb') as OracleDbModule;
}
