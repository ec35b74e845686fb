// Encodes rows for PostgreSQL's COPY ... FROM STDIN in text format: tab-separated fields,
// newline-terminated rows, \N for NULL, and backslash escapes for the four special characters.

import { SinkError } from '../errors.js';

export type CopyField = string | number | null;

/** Rows per yielded piece: big enough to keep writes few, small enough to bound memory per piece. */
const ROWS_PER_PIECE = 512;

/** The four characters COPY text treats specially, plus U+0000, which PostgreSQL text cannot hold. */
const NEEDS_CARE = /[\\\t\n\r\0]/;
const SPECIAL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * A text field in COPY text format. Only backslash, tab, newline and carriage return are special
 * on input; every other character, control characters and emoji included, passes literally
 * (the connection's client_encoding is UTF8). Escaping the backslash also defuses a literal
 * "\N" or "\." in the data. Nearly every value needs no care: one native scan decides that.
 */
export function copyText(value: string): string {
  if (!NEEDS_CARE.test(value)) return value;
  if (value.includes('\0')) {
    // PostgreSQL text cannot hold U+0000; the protocol forbids it, so this is a bug upstream.
    throw new SinkError(false, 'postgres sink: a value contains U+0000, which PostgreSQL text cannot store');
  }
  return value.replace(SPECIAL, (c) => ESCAPES[c] ?? c);
}

export function copyNumber(value: number): string {
  if (!Number.isFinite(value)) throw new SinkError(false, `postgres sink: cannot COPY the number ${value}`);
  return String(value);
}

/** Any field: NULL, a number or a text. */
export function copyTextField(value: CopyField): string {
  if (value === null) return '\\N';
  return typeof value === 'number' ? copyNumber(value) : copyText(value);
}

const HOUR_MS = 3_600_000;
/** The last instant toISOString writes as `YYYY-...` (year 9999); later years take six digits and a sign. */
const LAST_FOUR_DIGIT_YEAR_MS = 253_402_300_799_999;
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * ISO-8601 with milliseconds and Z, exact (unlike to_timestamp(ms / 1000.0) in float8), and fast:
 * an export writes two times per row, nearly all within the hour of the row before, so the
 * `YYYY-MM-DDTHH:` of the last two hours seen is kept and only minutes, seconds and ms are appended.
 */
export class CopyTimestamps {
  private hourA = Number.NaN;
  private prefixA = '';
  private hourB = Number.NaN;
  private prefixB = '';

  format(ms: number | null): string {
    if (ms === null || ms === undefined) return '\\N';
    if (!Number.isInteger(ms) || ms < 0 || ms > LAST_FOUR_DIGIT_YEAR_MS) return copyTimestamp(ms) as string;
    const inHour = ms % HOUR_MS;
    const hour = ms - inHour;
    let prefix: string;
    if (hour === this.hourA) {
      prefix = this.prefixA;
    } else if (hour === this.hourB) {
      prefix = this.prefixB;
    } else {
      // The older of the two slots gives way: B becomes A's predecessor.
      this.hourB = this.hourA;
      this.prefixB = this.prefixA;
      this.hourA = hour;
      this.prefixA = prefix = new Date(hour).toISOString().slice(0, 14);
    }
    const minutes = Math.floor(inHour / 60_000);
    const inMinute = inHour - minutes * 60_000;
    const seconds = Math.floor(inMinute / 1000);
    return `${prefix}${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[inMinute - seconds * 1000]}Z`;
  }
}

/** One time as ISO-8601 with milliseconds and Z, or null; the slow, general path. */
export function copyTimestamp(ms: number | null): string | null {
  if (ms === null) return null;
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new SinkError(false, `postgres sink: cannot COPY the time ${ms}`);
  return date.toISOString();
}

/**
 * Yields the COPY text of `rows` in pieces of a few hundred rows each; `line` encodes one row
 * without its newline.
 */
export function* copyTextPieces<R>(rows: readonly R[], line: (row: R) => string): Generator<string> {
  let piece = '';
  let inPiece = 0;
  for (const row of rows) {
    piece += line(row) + '\n';
    if (++inPiece === ROWS_PER_PIECE) {
      yield piece;
      piece = '';
      inPiece = 0;
    }
  }
  if (piece !== '') yield piece;
}
