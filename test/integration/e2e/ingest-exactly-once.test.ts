// The ingest promise end to end: the system started as `npm start` starts it, 200 students
// through the client library with duplicate resends and forced reconnects; Redis must then hold
// exactly the acked events, in seq order, none twice.

import t from 'tap';
import { answerWithChurn, compareStoredWithAcked } from '../../helpers/exactly-once-load.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { startUntradexProcess } from '../../helpers/untradex.js';

const STUDENTS = 200;
const ANSWERS_PER_STUDENT = 30;
const EXAM = 'E2E-1';

t.test('200 students with resends and reconnects: stored events are exactly the acked ones', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { appendfsync: 'always', buckets: 16 }, gateway: { connectionActors: 2 }, writers: { count: 2 } });
  const students = Array.from({ length: STUDENTS }, (_, index) => `S${index}`);
  const tokens = await ux.tokens(EXAM, students);
  const { acked, reconnects, nacks } = await answerWithChurn(t, {
    gatewayUrl: ux.gatewayUrl,
    tokens,
    students,
    answersPerStudent: ANSWERS_PER_STUDENT,
    seed: 20261129,
    answer: (index, random) => ({ question: `Q${index % 10}`, value: `v${index}-${Math.floor(random() * 1e6)}` }),
  });
  t.same(nacks, [], 'nothing nacked');
  t.ok(reconnects > 0, `forced ${reconnects} reconnects`);

  const stored = await storedEventsByStudent(ux.redis(), EXAM, 16);
  const { mismatched, storedTotal } = compareStoredWithAcked(stored, acked);
  t.same(mismatched, [], 'for every student, the stored seqs are the acked seqs, in order, none twice');
  t.same(students.filter((student) => stored.get(student)?.at(-1)?.kind !== 's'), [], 'every submit is stored last');
  t.equal(storedTotal, STUDENTS * (ANSWERS_PER_STUDENT + 2), 'every event of every student is stored exactly once');

  const exam = await ux.api<{ students: number; events: number; state: string }>('GET', `/api/exams/${EXAM}`);
  t.equal(exam.status, 200);
  t.match(exam.body, { state: 'open', students: STUDENTS, events: STUDENTS * (ANSWERS_PER_STUDENT + 2) });
  t.equal(await ux.stop(), 0, 'SIGTERM stops it cleanly with exit code 0');
});
