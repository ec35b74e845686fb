// The ingest promise and the export on a 3-primary Redis Cluster, end to end: 100 students through
// the client library with resends and forced reconnects; every shard then holds exactly the acked
// events, and finalize exports them from every shard into SQLite, each row once.

import t from 'tap';
import { bucketKeys } from '../../src/redis/bucket-keys.js';
import { expectedFromAcked, waitForExamState } from '../helpers/exam-traffic.js';
import { answerWithChurn, assertStoredAsAcked } from '../helpers/exactly-once-load.js';
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

  const { acked } = await answerWithChurn(t, ux, EXAM, {
    students: STUDENTS,
    answersPerStudent: ANSWERS_PER_STUDENT,
    seed: 20261130,
    answer: (index, random) => ({ question: `Q${index % 7}`, value: `v${index}-${Math.floor(random() * 1e6)} 🎓`, clientTs: 1_764_400_000_000 + index }),
  });
  assertStoredAsAcked(t, await storedEventsByStudent(cluster.client('check'), EXAM, BUCKETS), acked, ANSWERS_PER_STUDENT + 2, 'on every shard');

  const expected = expectedFromAcked(EXAM, acked);
  t.equal((await ux.api('POST', `/api/exams/${EXAM}/finalize`)).status, 202);
  const done = await waitForExamState(ux, EXAM, ['exported', 'failed'], 60_000);
  t.match(done, { state: 'exported', students: STUDENTS, events: expected.events, export: { bucketsDone: BUCKETS, bucketsTotal: BUCKETS, error: null } });
  assertSqliteResults(t, ux.config.export.sqlite.path, expected);
});
