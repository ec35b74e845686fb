// From students' sockets through finalize to the SQLite file (the embedded default): the final
// tables hold exactly the last answer per question, every stored event once, every submission;
// finalize is safe to repeat, and events after it are refused with exam_closed.

import Database from 'better-sqlite3';
import t from 'tap';
import { StudentClient } from '../../../src/client/student-client.js';
import { waitForExamState } from '../../helpers/exam-traffic.js';
import { pollSettled } from '../../helpers/poll.js';
import { startUntradexProcess } from '../../helpers/untradex.js';

const STUDENTS = 60;
const EXAM = 'FIN-1';

t.test('students -> finalize -> SQLite holds exactly the right rows', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { buckets: 8 }, export: { exporters: 2, chunkSize: 50 } });
  const students = Array.from({ length: STUDENTS }, (_, index) => `S${index}`);
  const tokens = await ux.tokens(EXAM, students);
  const expectedAnswers = new Map<string, { value: string; seq: number }>();
  const clients: StudentClient[] = [];
  let expectedEvents = 0;

  for (const [index, student] of students.entries()) {
    const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]! });
    t.teardown(() => client.close());
    clients.push(client);
    await client.connect();
    client.open();
    expectedEvents += 1;
    for (let change = 0; change < 3; change += 1) {
      for (const question of ['Q1', 'Q2', 'Q3']) {
        // Hostile and edge values travel byte for byte: quotes, SQL, emoji, newlines, and "" (a clear).
        const value = change === 2 && question === 'Q3' ? '' : `${question}'s answer ${change} 🧪 "; DROP TABLE ux_answers; --\n${student}`;
        const seq = client.answer(question, value, 1_700_000_000_000 + change);
        expectedAnswers.set(`${student}|${question}`, { value, seq });
        expectedEvents += 1;
      }
    }
    if (index % 2 === 0) {
      client.submit();
      expectedEvents += 1;
    }
  }
  await Promise.all(clients.map((client) => client.flushed()));

  let told = 0;
  for (const client of clients) client.once('closed', () => (told += 1));
  const first = await ux.api<{ exam: string; state: string }>('POST', `/api/exams/${EXAM}/finalize`);
  t.equal(first.status, 202);
  t.equal(first.body.exam, EXAM);
  t.match(first.body.state, /^(closing|exporting|exported)$/);
  t.equal(await pollSettled('every student to be told', () => told, (count) => count === STUDENTS, { timeoutMs: 30_000 }), STUDENTS, 'connected students were sent {"t":"closed"}');

  const late = clients[1]!;
  const lateSeq = late.answer('Q9', 'too late');
  const nack = await new Promise<string>((resolve) => late.once('nacked', (_event, code) => resolve(code)));
  t.equal(nack, 'exam_closed', `an event after finalize (seq ${lateSeq}) is refused`);

  const again = await ux.api<{ state: string }>('GET', `/api/finalizarexamen?exam=${EXAM}`);
  t.equal(again.status, 202, 'finalize again (through the original alias) is safe');
  const done = await waitForExamState(ux, EXAM, ['exported', 'failed'], 60_000);
  t.equal(done.state, 'exported', `export finished (${done.export.error ?? 'no error'})`);
  t.match(done, { students: STUDENTS, events: expectedEvents, export: { bucketsDone: 8, bucketsTotal: 8, percent: 100 } });
  t.type(done.export.finishedAt, 'string');

  const db = new Database(`${ux.dataDir}/results.sqlite`, { readonly: true });
  t.teardown(() => db.close());
  const answers = db.prepare('SELECT student_id, question_id, value, seq, answered_at FROM ux_answers WHERE exam_id = ?').all(EXAM) as Array<{
    student_id: string;
    question_id: string;
    value: string;
    seq: number;
    answered_at: number;
  }>;
  t.equal(answers.length, expectedAnswers.size, 'one row per student and question');
  for (const row of answers) {
    const expected = expectedAnswers.get(`${row.student_id}|${row.question_id}`);
    t.same({ value: row.value, seq: row.seq }, expected, `${row.student_id}/${row.question_id}: the last answer, byte for byte`);
  }
  const events = db.prepare('SELECT count(*) AS n, count(DISTINCT student_id || \'/\' || seq) AS distinct_keys FROM ux_events WHERE exam_id = ?').get(EXAM) as { n: number; distinct_keys: number };
  t.same(events, { n: expectedEvents, distinct_keys: expectedEvents }, 'every stored event once');
  const submissions = db.prepare('SELECT count(*) AS n FROM ux_submissions WHERE exam_id = ?').get(EXAM) as { n: number };
  t.equal(submissions.n, STUDENTS / 2, 'every submission');
  t.equal(done.export.rows, expectedEvents + expectedAnswers.size + STUDENTS / 2, 'progress counts every row written');

  const third = await ux.api<{ state: string }>('POST', `/api/exams/${EXAM}/finalize`);
  t.same([third.status, third.body.state], [202, 'exported'], 'finalize on an exported exam just reports it');
  const purge = await ux.api<{ deletedKeys: number }>('POST', `/api/exams/${EXAM}/purge`);
  t.equal(purge.status, 200);
  t.ok(purge.body.deletedKeys > 0, 'purge removes the exam from Redis');
});
