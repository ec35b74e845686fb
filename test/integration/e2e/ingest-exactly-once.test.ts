// The ingest promise end to end: the system started as `npm start` starts it, 200 students
// through the client library with duplicate resends and forced reconnects; Redis must then hold
// exactly the acked events, in seq order, none twice.

import t from 'tap';
import { answerWithChurn, assertStoredAsAcked } from '../../helpers/exactly-once-load.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { startUntradexProcess } from '../../helpers/untradex.js';

const STUDENTS = 200;
const ANSWERS_PER_STUDENT = 30;
const EXAM = 'E2E-1';

t.test('200 students with resends and reconnects: stored events are exactly the acked ones', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { appendfsync: 'always', buckets: 16 }, gateway: { connectionActors: 2 }, writers: { count: 2 } });
  const { acked } = await answerWithChurn(t, ux, EXAM, {
    students: STUDENTS,
    answersPerStudent: ANSWERS_PER_STUDENT,
    seed: 20261129,
    answer: (index, random) => ({ question: `Q${index % 10}`, value: `v${index}-${Math.floor(random() * 1e6)}` }),
  });
  assertStoredAsAcked(t, await storedEventsByStudent(ux.redis(), EXAM, 16), acked, ANSWERS_PER_STUDENT + 2, 'for every student');

  const exam = await ux.api<{ students: number; events: number; state: string }>('GET', `/api/exams/${EXAM}`);
  t.equal(exam.status, 200);
  t.match(exam.body, { state: 'open', students: STUDENTS, events: STUDENTS * (ANSWERS_PER_STUDENT + 2) });
  t.equal(await ux.stop(), 0, 'SIGTERM stops it cleanly with exit code 0');
});
