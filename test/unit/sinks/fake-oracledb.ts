// A recording fake of the node-oracledb slice the Oracle sink uses (oracle-api.ts): every call
// is logged in order, and a test-supplied script decides per call to succeed, fail or report.

import type {
  OracleBatchError,
  OracleBindValue,
  OracleConnection,
  OracleDbModule,
  OracleExecuteManyOptions,
  OracleExecuteManyResult,
  OraclePool,
  OraclePoolAttributes,
} from '../../../src/sinks/oracle-api.js';

export type FakeCall =
  | { method: 'createPool'; attributes: OraclePoolAttributes }
  | { method: 'getConnection' }
  | { method: 'execute'; connection: number; sql: string }
  | { method: 'executeMany'; connection: number; sql: string; binds: OracleBindValue[][]; options: OracleExecuteManyOptions }
  | { method: 'commit' | 'rollback'; connection: number }
  | { method: 'close'; connection: number; drop: boolean }
  | { method: 'closePool'; drainTime: number | undefined };

/**
 * Decides the outcome of each call: throw to make it fail; return batch errors for an
 * executeMany to report per-row failures. Called after the call is recorded.
 */
export type FakeScript = (call: FakeCall) => void | { batchErrors: OracleBatchError[] };

/** An error shaped like node-oracledb's: `ORA-00955: ...` with code and errorNum. */
export function oraError(errorNum: number, text: string): Error & { code: string; errorNum: number } {
  const code = `ORA-${String(errorNum).padStart(5, '0')}`;
  return Object.assign(new Error(`${code}: ${text}`), { code, errorNum });
}

/** node-oracledb's own errors (NJS-500, NJS-040, ...), optionally wrapping an ORA cause in the message. */
export function njsError(num: number, text: string): Error & { code: string } {
  const code = `NJS-${String(num).padStart(3, '0')}`;
  return Object.assign(new Error(`${code}: ${text}`), { code });
}

export class FakeOracleDb implements OracleDbModule {
  readonly DB_TYPE_VARCHAR = { fake: 'DB_TYPE_VARCHAR' };
  readonly DB_TYPE_NUMBER = { fake: 'DB_TYPE_NUMBER' };
  readonly calls: FakeCall[] = [];
  script: FakeScript = () => undefined;
  private connections = 0;

  /** Calls of one method, narrowed to its shape. */
  callsOf<M extends FakeCall['method']>(method: M): Extract<FakeCall, { method: M }>[] {
    return this.calls.filter((c): c is Extract<FakeCall, { method: M }> => c.method === method);
  }

  /** The method names in call order, for asserting sequences like commit-then-close. */
  sequence(): string[] {
    return this.calls.map((c) => c.method);
  }

  async createPool(attributes: OraclePoolAttributes): Promise<OraclePool> {
    this.record({ method: 'createPool', attributes: { ...attributes } });
    return {
      getConnection: async () => {
        this.record({ method: 'getConnection' });
        return this.connection(++this.connections);
      },
      close: async (drainTime?: number) => {
        this.record({ method: 'closePool', drainTime });
      },
    };
  }

  private connection(id: number): OracleConnection {
    return {
      execute: async (sql: string) => {
        this.record({ method: 'execute', connection: id, sql });
        return {};
      },
      executeMany: async (sql, binds, options): Promise<OracleExecuteManyResult> => {
        // Copies, so later mutation by the sink could not fake a passing assertion.
        const outcome = this.record({
          method: 'executeMany',
          connection: id,
          sql,
          binds: binds.map((row) => [...row]),
          options: { ...options, bindDefs: options.bindDefs.map((d) => ({ ...d })) },
        });
        return { rowsAffected: binds.length, ...(outcome ?? {}) };
      },
      commit: async () => {
        this.record({ method: 'commit', connection: id });
      },
      rollback: async () => {
        this.record({ method: 'rollback', connection: id });
      },
      close: async (options?: { drop: boolean }) => {
        this.record({ method: 'close', connection: id, drop: options?.drop ?? false });
      },
    };
  }

  private record(call: FakeCall): void | { batchErrors: OracleBatchError[] } {
    this.calls.push(call);
    return this.script(call);
  }
}
