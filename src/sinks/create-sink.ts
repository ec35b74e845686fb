// Builds the configured result sink, checking that its connection settings are present and
// naming the missing config key when they are not.

import { ConfigError } from '../errors.js';
import type { OracleDbModule } from './oracle-api.js';
import { OracleSink } from './oracle-sink.js';
import { PostgresSink } from './postgres-sink.js';
import type { ResultSink } from './result-sink.js';
import { SqliteSink } from './sqlite-sink.js';

/** Connection settings may be null or missing: config/default.json has no database to point at. */
export type SinkOptions =
  | { kind: 'sqlite'; path: string | null | undefined; tablePrefix: string; busyTimeoutMs?: number }
  | { kind: 'postgres'; url: string | null | undefined; tablePrefix: string; poolMax?: number }
  | {
      kind: 'oracle';
      user: string | null | undefined;
      password: string | null | undefined;
      connectString: string | null | undefined;
      tablePrefix: string;
      batchSize: number;
      poolMax: number;
      /** Tests inject a fake driver; default the real node-oracledb. */
      oracledb?: OracleDbModule;
    };

/** The slice of UntradexConfig['export'] a sink needs (structural, so this module does not depend on the schema). */
export interface ExportSinkConfig {
  sink: 'sqlite' | 'postgres' | 'oracle';
  tablePrefix: string;
  sqlite: { path: string | null };
  postgres: { url: string | null };
  oracle: { user: string | null; password: string | null; connectString: string | null; batchSize: number; poolMax: number };
}

function required(value: string | null | undefined, key: string, allowEmpty = false): string {
  if (value === null || value === undefined || (!allowEmpty && value === '')) {
    throw new ConfigError(key, 'is required for this export.sink but is not set');
  }
  return value;
}

export function createSink(options: SinkOptions): ResultSink {
  switch (options.kind) {
    case 'sqlite':
      return new SqliteSink({
        path: required(options.path, 'export.sqlite.path'),
        tablePrefix: options.tablePrefix,
        ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
      });
    case 'postgres':
      return new PostgresSink({
        url: required(options.url, 'export.postgres.url'),
        tablePrefix: options.tablePrefix,
        ...(options.poolMax === undefined ? {} : { poolMax: options.poolMax }),
      });
    case 'oracle':
      return new OracleSink({
        user: required(options.user, 'export.oracle.user'),
        // An empty password is the database's to refuse, not ours.
        password: required(options.password, 'export.oracle.password', true),
        connectString: required(options.connectString, 'export.oracle.connectString'),
        tablePrefix: options.tablePrefix,
        batchSize: options.batchSize,
        poolMax: options.poolMax,
        ...(options.oracledb === undefined ? {} : { oracledb: options.oracledb }),
      });
    default: {
      const never: never = options;
      throw new ConfigError('export.sink', `unknown sink ${JSON.stringify(never)}`);
    }
  }
}

/** The SinkOptions that config.export describes. */
export function sinkOptionsFromConfig(config: ExportSinkConfig): SinkOptions {
  const { tablePrefix } = config;
  switch (config.sink) {
    case 'sqlite':
      return { kind: 'sqlite', path: config.sqlite.path, tablePrefix };
    case 'postgres':
      return { kind: 'postgres', url: config.postgres.url, tablePrefix };
    case 'oracle':
      return { kind: 'oracle', ...config.oracle, tablePrefix };
    default: {
      const never: never = config.sink;
      throw new ConfigError('export.sink', `unknown sink ${String(never)}`);
    }
  }
}
