// The ingest promise and the export on a 3-primary Redis Cluster, end to end: 100 students through
// the client library with resends and forced reconnects; every shard then holds exactly the acked
// events, and finalize exports them from every shard into SQLite, each row once.

import t from 'tap';
import { bucketKeys } from '../../src/redis/bucket-keys.js';
import type { ExpectedResults } from '../helpers/exam-traffic.js';
import { answerWithChurn, compareStoredWithAcked } from '../helpers/exactly-once-load.js';
import { waitForExamState } from '../helpers/exam-traffic.js';
import { startTestCluster } from '../helpers/redis-cluster.js';
import { assertSqliteResults } from '../helpers/sqlite-results.js';
import { storedEventsByStudent } from '../helpers/stored-events.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

const STUDENTS = 100;
const ANSWERS_PER_STUDENT = 20;
const BUCKETS = 16;
const EXAM = 'CL-E2E';


t.test('100 students on a Redis Cluster: stored events are exactly the acked ones, and export finds them all', async (t) => {
  const cluster = await startTestCluster(t, { primaries: 3 });
  const ux = await startUntradexInProcess(t, {
    redis: { embedded: false, cluster: cluster.seeds, buckets: BUCKETS },
    gateway: { connectionActors: 2 },
    writers: { count: 2 },
    export: { exporters: 2, chunkSize: 50 },
  });
  const owners = new Set<number>();
  for (let bucket = 0; bucket < BUCKETS; bucket += 1) owners.add((await cluster.primaryOf(bucketKeys.log(EXAM, bucket))).port);
  t.equal(owners.size, 3, 'the exam spans all three primaries');

  const students = Array.from({ length: STUDENTS }, (_, index) => `S${index}`);
  const tokens = await ux.tokens(EXAM, students);
  const { acked, reconnects, nacks } = await answerWithChurn(t, {
    gatewayUrl: ux.gatewayUrl,
    tokens,
    students,
    answersPerStudent: ANSWERS_PER_STUDENT,
    seed: 20261130,
    answer: (index, random) => ({ question: `Q${index % 7}`, value: `v${index}-${Math.floor(random() * 1e6)} 🎓`, clientTs: 1_764_400_000_000 + index }),
  });
  t.same(nacks, [], 'nothing nacked');
  t.ok(reconnects > 0, `forced ${reconnects} reconnects`);

  const stored = await storedEventsByStudent(cluster.client('check'), EXAM, BUCKETS);
  const { mismatched, storedTotal } = compareStoredWithAcked(stored, acked);
  t.same(mismatched, [], 'for every student, the stored seqs are the acked seqs, in order, none twice');
  t.equal(storedTotal, STUDENTS * (ANSWERS_PER_STUDENT + 2), 'every event of every student is stored exactly once');

  const expected: ExpectedResults = { exam: EXAM, answers: new Map(), events: 0, submissions: 0, students: STUDENTS };
  for (const [student, events] of acked) {
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      expected.events += 1;
      if (event.kind === 'answer') expected.answers.set(`${student}|${event.question!}`, { value: event.value!, seq: event.seq });
      if (event.kind === 'submit') expected.submissions += 1;
    }
  }
  t.equal((await ux.api('POST', `/api/exams/${EXAM}/finalize`)).status, 202);
  const done = await waitForExamState(ux, EXAM, ['exported', 'failed'], 60_000);
  t.match(done, { state: 'exported', students: STUDENTS, events: expected.events, export: { bucketsDone: BUCKETS, bucketsTotal: BUCKETS, error: null } });
  assertSqliteResults(t, ux.config.export.sqlite.path, expected);
});
