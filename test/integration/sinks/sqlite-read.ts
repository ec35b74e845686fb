// Reads the final tables back from a SQLite results file, on a read-only connection of its own,
// in the shape the shared sink suite compares.

import Database from 'better-sqlite3';
import type { ResultTables } from './sink-data.js';

export function readSqliteTables(file: string, tablePrefix: string): ResultTables {
  const db = new Database(file, { readonly: true });
  try {
    const all = <R>(sql: string): R[] => db.prepare(sql).all() as R[];
    return {
      answers: all(
        `SELECT exam_id AS examId, student_id AS studentId, question_id AS questionId, value, seq, answered_at AS answeredAt, ` +
          `received_at AS receivedAt FROM ${tablePrefix}answers`,
      ),
      events: all(
        `SELECT exam_id AS examId, student_id AS studentId, seq, kind, question_id AS questionId, value, client_ts AS clientTs, ` +
          `server_ts AS serverTs FROM ${tablePrefix}events`,
      ),
      submissions: all(
        `SELECT exam_id AS examId, student_id AS studentId, submitted_at AS submittedAt, last_seq AS lastSeq FROM ${tablePrefix}submissions`,
      ),
    };
  } finally {
    db.close();
  }
}
