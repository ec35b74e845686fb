// Checks a SQLite results file against what an exam's traffic must have produced: exactly one row
// per key, the last answer per question byte for byte, nothing missing and nothing twice.

import Database from 'better-sqlite3';
import type { ExpectedResults } from './exam-traffic.js';

import type { Test } from 'tap';

export function assertSqliteResults(t: Test, path: string, expected: ExpectedResults, prefix = 'ux_'): void {
  const db = new Database(path, { readonly: true });
  try {
    const answers = db.prepare(`SELECT student_id, question_id, value, seq FROM ${prefix}answers WHERE exam_id = ?`).all(expected.exam) as Array<{
      student_id: string;
      question_id: string;
      value: string;
      seq: number;
    }>;
    t.equal(answers.length, expected.answers.size, 'one answer row per student and question');
    let wrong = 0;
    for (const row of answers) {
      const want = expected.answers.get(`${row.student_id}|${row.question_id}`);
      if (want === undefined || want.value !== row.value || want.seq !== row.seq) wrong += 1;
    }
    t.equal(wrong, 0, 'every answer row is the last answer, byte for byte');
    const events = db
      .prepare(`SELECT count(*) AS n, count(DISTINCT student_id || '/' || seq) AS keys FROM ${prefix}events WHERE exam_id = ?`)
      .get(expected.exam) as { n: number; keys: number };
    t.same(events, { n: expected.events, keys: expected.events }, 'every stored event exactly once');
    const submissions = db.prepare(`SELECT count(*) AS n FROM ${prefix}submissions WHERE exam_id = ?`).get(expected.exam) as { n: number };
    t.equal(submissions.n, expected.submissions, 'every submission exactly once');
  } finally {
    db.close();
  }
}
