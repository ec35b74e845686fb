// Sorts result-database failures into SinkError(transient) — retrying may fix them — and
// SinkError(permanent); the message names the sink, what it was doing, and the driver's cause.

import { SinkError } from '../errors.js';
import type { SinkKind } from './result-sink.js';

/** Socket-level failures: the database or the network went away, not our SQL. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EAI_AGAIN',
  // A COPY stream that closed under us: the connection went away mid-chunk.
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * PostgreSQL SQLSTATEs worth a retry: serialization failure, deadlock, lock wait, cancelled by
 * statement_timeout, server shutting down or starting, out of connections or memory.
 */
const POSTGRES_TRANSIENT_STATES = new Set([
  '40001',
  '40P01',
  '55P03',
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53200',
  '53300',
  '25P03',
]);

/** pg and pg-pool raise these without any code when a connection dies or cannot be had. */
const POSTGRES_TRANSIENT_MESSAGES = [
  'connection terminated',
  'timeout exceeded when trying to connect',
  'client has encountered a connection error',
  'query read timeout',
  'timeout expired',
];

const SQLITE_TRANSIENT_PREFIXES = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_PROTOCOL'];

/**
 * Oracle errors worth a retry: lost or refused connections, listener and instance not
 * available, killed or timed-out sessions, deadlock (00060), serialization (08177), resource busy.
 */
const ORACLE_TRANSIENT_ORA = new Set([
  28, 60, 54, 1012, 1033, 1034, 1089, 1090, 1092, 2396, 3113, 3114, 3135, 8177, 12153, 12170, 12500, 12514,
  12516, 12519, 12520, 12521, 12526, 12527, 12528, 12537, 12541, 12547, 12560, 12570, 12571, 12583, 25408,
  30006,
]);

/**
 * node-oracledb's own codes for the same: request queue timeout (040), queue full (076), and the
 * thin driver's network layer (500 closed, 501 lost contact, 503 could not connect, 504 proxy,
 * 510 timed out, 511 refused, 513 in-band notification, 521 end of file, 530 host not found).
 */
const ORACLE_TRANSIENT_NJS = new Set([40, 76, 500, 501, 503, 504, 510, 511, 513, 521, 530]);

interface DriverErrorShape {
  code?: unknown;
  errorNum?: unknown;
  message?: unknown;
  errors?: unknown;
}

function shape(err: unknown): DriverErrorShape {
  return typeof err === 'object' && err !== null ? (err as DriverErrorShape) : {};
}

function messageOf(err: unknown): string {
  const m = shape(err).message;
  return typeof m === 'string' ? m : String(err);
}

function isNetworkError(err: unknown): boolean {
  const s = shape(err);
  if (typeof s.code === 'string' && NETWORK_CODES.has(s.code)) return true;
  // Node's happy-eyeballs connect reports every failed address inside an AggregateError.
  return Array.isArray(s.errors) && s.errors.some((inner) => isNetworkError(inner));
}

export function isTransientPostgresError(err: unknown): boolean {
  if (isNetworkError(err)) return true;
  const code = shape(err).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    // Class 08: connection exceptions of every kind.
    return code.startsWith('08') || POSTGRES_TRANSIENT_STATES.has(code);
  }
  const message = messageOf(err).toLowerCase();
  return POSTGRES_TRANSIENT_MESSAGES.some((m) => message.includes(m));
}

export function isTransientSqliteError(err: unknown): boolean {
  const code = shape(err).code;
  return typeof code === 'string' && SQLITE_TRANSIENT_PREFIXES.some((p) => code === p || code.startsWith(`${p}_`));
}

/** Every ORA-nnnnn and NJS-nnn code an Oracle error carries: node-oracledb rewraps some ORA codes as NJS-500. */
function oracleCodes(err: unknown): { ora: number[]; njs: number[] } {
  const s = shape(err);
  const text = `${typeof s.code === 'string' ? s.code : ''} ${messageOf(err)}`;
  const ora = [...text.matchAll(/ORA-(\d{5})/g)].map((m) => Number(m[1]));
  const njs = [...text.matchAll(/NJS-(\d{3})/g)].map((m) => Number(m[1]));
  if (typeof s.errorNum === 'number' && s.errorNum > 0) ora.push(s.errorNum);
  return { ora, njs };
}

export function isTransientOracleError(err: unknown): boolean {
  if (isNetworkError(err)) return true;
  const { ora, njs } = oracleCodes(err);
  return ora.some((n) => ORACLE_TRANSIENT_ORA.has(n)) || njs.some((n) => ORACLE_TRANSIENT_NJS.has(n));
}

/** The Oracle error number of `err` (955 for ORA-00955), or undefined when it has none. */
export function oracleErrorNum(err: unknown): number | undefined {
  const errorNum = shape(err).errorNum;
  if (typeof errorNum === 'number') return errorNum;
  const code = shape(err).code;
  const m = typeof code === 'string' ? /^ORA-(\d{5})$/.exec(code) : null;
  return m ? Number(m[1]) : undefined;
}

export function isTransientSinkCause(kind: SinkKind, err: unknown): boolean {
  switch (kind) {
    case 'postgres':
      return isTransientPostgresError(err);
    case 'sqlite':
      return isTransientSqliteError(err);
    case 'oracle':
      return isTransientOracleError(err);
    default: {
      const never: never = kind;
      throw new TypeError(`unknown sink kind ${String(never)}`);
    }
  }
}

/**
 * Wraps a driver failure as a SinkError of the right kind. An error that already is a SinkError
 * passes through unchanged, so wrapping twice on the way up keeps the first diagnosis.
 */
export function toSinkError(kind: SinkKind, err: unknown, doing: string): SinkError {
  if (err instanceof SinkError) return err;
  const transient = isTransientSinkCause(kind, err);
  const code = shape(err).code;
  const codeText = typeof code === 'string' && !messageOf(err).includes(code) ? ` [${code}]` : '';
  const advice = transient ? 'retrying may fix it' : 'retrying will not fix it';
  return new SinkError(transient, `${kind} sink: ${doing} failed: ${messageOf(err)}${codeText} (${advice})`, { cause: err });
}
