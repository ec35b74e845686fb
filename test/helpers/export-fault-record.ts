// For the export fault tests: turns the sink's event rows into a reliability record (acked, in
// the sink, lost, duplicated) for docs/RELIABILITY.md. Does nothing unless UX_RELIABILITY_DIR is set.

import Database from 'better-sqlite3';
import type { ExpectedResults } from './exam-traffic.js';
import { recordReliability } from './reliability-record.js';

export interface EventKey {
  studentId: string;
  seq: number;
}

/** The (student, seq) of every ux_events row of `exam` in a SQLite results file. */
export function sqliteEventKeys(path: string, exam: string, prefix = 'ux_'): EventKey[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT student_id AS studentId, seq FROM ${prefix}events WHERE exam_id = ?`).all(exam) as EventKey[];
  } finally {
    db.close();
  }
}

export function recordExportFault(scenario: string, injected: string, expected: ExpectedResults, rows: readonly EventKey[], note: string): void {
  const keys = new Set(rows.map((row) => `${row.studentId}/${row.seq}`)).size;
  recordReliability({
    kind: 'fault',
    scenario,
    injected,
    acked: expected.events,
    inSink: rows.length,
    lost: Math.max(0, expected.events - keys),
    duplicated: rows.length - keys,
    note,
  });
}
