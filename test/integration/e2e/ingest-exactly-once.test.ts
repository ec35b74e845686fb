// The ingest promise end to end: the system started as `npm start` starts it, 200 students
// through the client library with duplicate resends and forced reconnects; Redis must then hold
// exactly the acked events, in seq order, none twice.

import t from 'tap';
import { StudentClient } from '../../../src/client/student-client.js';
import type { OutboxEvent } from '../../../src/client/types.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { startUntradexProcess } from '../../helpers/untradex.js';
import { seededUnit } from '../../helpers/seeded-random.js';

const STUDENTS = 200;
const ANSWERS_PER_STUDENT = 30;
const EXAM = 'E2E-1';


t.test('200 students with resends and reconnects: stored events are exactly the acked ones', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { appendfsync: 'always', buckets: 16 }, gateway: { connectionActors: 2 }, writers: { count: 2 } });
  const students = Array.from({ length: STUDENTS }, (_, index) => `S${index}`);
  const tokens = await ux.tokens(EXAM, students);
  const random = seededUnit(20261129);
  const acked = new Map<string, OutboxEvent[]>();
  let reconnects = 0;

  await Promise.all(
    students.map(async (student) => {
      const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]!, reconnect: { baseMs: 20, maxMs: 200 } });
      t.teardown(() => client.close());
      const mine: OutboxEvent[] = [];
      acked.set(student, mine);
      client.on('acked', (event) => mine.push(event));
      client.on('nacked', (event, code) => t.fail(`unexpected nack ${code} for ${student} seq ${event.seq}`));
      await client.connect();
      client.open();
      for (let index = 0; index < ANSWERS_PER_STUDENT; index += 1) {
        client.answer(`Q${index % 10}`, `v${index}-${Math.floor(random() * 1e6)}`);
        const roll = random();
        if (roll < 0.05) client.resendUnacked();
        else if (roll < 0.08) {
          client.dropConnection();
          reconnects += 1;
        }
        if (index % 7 === 0) await new Promise((resolve) => setTimeout(resolve, random() * 20));
      }
      client.submit();
      await client.flushed();
      t.equal(client.stats.nacked, 0, `${student}: nothing nacked`);
    }),
  );
  t.ok(reconnects > 0, `forced ${reconnects} reconnects`);

  const stored = await storedEventsByStudent(ux.redis(), EXAM, 16);
  let storedTotal = 0;
  for (const student of students) {
    const events = stored.get(student) ?? [];
    storedTotal += events.length;
    const seqs = events.map((event) => event.seq);
    const ackedSeqs = acked.get(student)!.map((event) => event.seq).sort((a, b) => a - b);
    t.same(seqs, ackedSeqs, `${student}: stored seqs equal acked seqs, in order, none twice`);
    t.equal(new Set(seqs).size, seqs.length, `${student}: no seq stored twice`);
    const lastAcked = acked.get(student)!.at(-1);
    t.equal(events.at(-1)?.kind, 's', `${student}: the submit is stored last`);
    t.ok(lastAcked !== undefined);
  }
  t.equal(storedTotal, STUDENTS * (ANSWERS_PER_STUDENT + 2), 'every event of every student is stored exactly once');

  const exam = await ux.api<{ students: number; events: number; state: string }>('GET', `/api/exams/${EXAM}`);
  t.equal(exam.status, 200);
  t.match(exam.body, { state: 'open', students: STUDENTS, events: STUDENTS * (ANSWERS_PER_STUDENT + 2) });
  t.equal(await ux.stop(), 0, 'SIGTERM stops it cleanly with exit code 0');
});
