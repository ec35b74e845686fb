// Encodes rows for PostgreSQL's COPY ... FROM STDIN in text format: tab-separated fields,
// newline-terminated rows, \N for NULL, and backslash escapes for the four special characters.

import { SinkError } from '../errors.js';

export type CopyField = string | number | null;

/** Rows per yielded piece: big enough to keep writes few, small enough to bound memory per piece. */
const ROWS_PER_PIECE = 512;

const SPECIAL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * One field in COPY text format. Only backslash, tab, newline and carriage return are special
 * on input; every other character, control characters and emoji included, passes literally
 * (the connection's client_encoding is UTF8). Escaping the backslash also defuses a literal
 * "\N" or "\." in the data.
 */
export function copyTextField(value: CopyField): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new SinkError(false, `postgres sink: cannot COPY the number ${value}`);
    return String(value);
  }
  if (value.includes('\0')) {
    // PostgreSQL text cannot hold U+0000; the protocol forbids it, so this is a bug upstream.
    throw new SinkError(false, 'postgres sink: a value contains U+0000, which PostgreSQL text cannot store');
  }
  return value.replace(SPECIAL, (c) => ESCAPES[c] ?? c);
}

/** ISO-8601 with milliseconds and Z: exact, unlike to_timestamp(ms / 1000.0) in float8. */
export function copyTimestamp(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Yields the COPY text of `rows` in pieces of a few hundred rows each. */
export function* copyTextPieces<R>(rows: readonly R[], fields: (row: R) => readonly CopyField[]): Generator<string> {
  let piece = '';
  let inPiece = 0;
  for (const row of rows) {
    piece += fields(row).map(copyTextField).join('\t') + '\n';
    if (++inPiece === ROWS_PER_PIECE) {
      yield piece;
      piece = '';
      inPiece = 0;
    }
  }
  if (piece !== '') yield piece;
}
