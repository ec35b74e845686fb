// Reads the student list `untradex tokens` is given: one id per line, or a CSV (as a spreadsheet
// exports it) whose header has a `student` or `student_id` column; every id checked before any is used.

import { parse } from 'csv-parse/sync';
import { isValidId } from '../../src/events/answer-event.js';
import { UsageError } from '../../src/errors.js';

export interface StudentList {
  students: string[];
  /** Ids given more than once (each kept once). */
  duplicates: number;
}

const ID_COLUMNS = ['student', 'student_id'];
/** Bad ids named in the message: enough to find the pattern, not a wall of text. */
const SHOWN_PROBLEMS = 5;

/**
 * A first line with a delimiter (`,` `;` or a tab, as spreadsheets in various locales export) is a
 * CSV header; a first line that is exactly `student` or `student_id` is a one-column header; any
 * other first line is already an id. Blank lines are skipped; spaces around ids are trimmed.
 */
export function parseStudentList(text: string, source: string): StudentList {
  let records: string[][];
  try {
    records = parse(text, { bom: true, delimiter: [',', ';', '\t'], skip_empty_lines: true, relax_column_count: true, trim: true }) as string[][];
  } catch (error) {
    throw new UsageError(`${source} is not a readable student list: ${(error as Error).message}`);
  }
  let column = 0;
  let first = 0;
  const header = records[0]?.map((cell) => cell.toLowerCase());
  if (header !== undefined) {
    const named = header.findIndex((cell) => ID_COLUMNS.includes(cell));
    if (named >= 0) {
      column = named;
      first = 1;
    } else if (header.length > 1) {
      throw new UsageError(`${source} looks like a CSV (its first line has ${header.length} columns) but has no "student" or "student_id" column; found: ${header.join(', ')}`);
    }
  }
  const seen = new Set<string>();
  const problems: string[] = [];
  let duplicates = 0;
  for (let index = first; index < records.length; index++) {
    const id = records[index]![column] ?? '';
    if (!isValidId(id)) {
      problems.push(`record ${index + 1}: ${JSON.stringify(id)}`);
      continue;
    }
    if (seen.has(id)) duplicates += 1;
    seen.add(id);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, SHOWN_PROBLEMS).join('; ');
    const more = problems.length > SHOWN_PROBLEMS ? ` and ${problems.length - SHOWN_PROBLEMS} more` : '';
    throw new UsageError(`${source} has ${problems.length} invalid student id(s) (ids are 1 to 64 of A-Z a-z 0-9 _ . -): ${shown}${more}; fix them and run again, no token was issued`);
  }
  if (seen.size === 0) throw new UsageError(`${source} holds no student id; give one id per line, or a CSV with a "student" column`);
  return { students: [...seen], duplicates };
}

/** One CSV field: quoted when it holds a delimiter, a quote or a line break (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n;]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
