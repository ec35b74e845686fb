// Three gateway processes (started as `npm start` starts them) on a 3-primary Redis Cluster: the
// stored events are exactly the acked ones, a session is replaced across processes, finalize
// reaches every process and exports every shard to SQLite, each row once.

import { join } from 'node:path';
import t from 'tap';
import { expectedFromAcked, waitForExamState } from '../helpers/exam-traffic.js';
import { assertStoredAsAcked, connectWatchedStudents } from '../helpers/exactly-once-load.js';
import { startTestCluster } from '../helpers/redis-cluster.js';
import { assertSqliteResults } from '../helpers/sqlite-results.js';
import { storedEventsByStudent } from '../helpers/stored-events.js';
import { startUntradexProcess } from '../helpers/untradex.js';
import { assertReplacedAcrossProcesses } from '../helpers/cross-process-replacement.js';

const BUCKETS = 16;
const STUDENTS = 60;
const ANSWERS = 12;
const EXAM = 'CL-MP';

interface FleetStatus {
  processes: Array<{ id: string; connections: number }>;
}

t.test('three gateway processes on a Redis Cluster behave as one Untradex', async (t) => {
  const cluster = await startTestCluster(t, { primaries: 3 });
  const ux = await startUntradexProcess(t, {
    gateway: { processes: 3, connectionActors: 1 },
    writers: { count: 1 },
    redis: { embedded: false, cluster: cluster.seeds, buckets: BUCKETS },
  });
  const perProcess = async () => new Map((await ux.api<FleetStatus>('GET', '/api/status')).body.processes.map((p) => [p.id, p.connections]));
  t.equal((await perProcess()).size, 3, 'three gateway processes');

  const students = Array.from({ length: STUDENTS }, (_, index) => `S${index}`);
  const { clients, acked, nacks } = await connectWatchedStudents(t, ux, EXAM, students);
  const spread = [...(await perProcess()).values()];
  t.ok(spread.filter((count) => count > 0).length >= 2, `students landed on several processes: ${spread.join('/')}`);

  await Promise.all(
    clients.map(async (client, index) => {
      client.open();
      for (let round = 0; round < ANSWERS; round += 1) {
        client.answer(`Q${round % 4}`, `answer ${round} 🎓`);
        if (round === 5 && index % 5 === 0) client.resendUnacked();
        if (round === 8 && index % 7 === 0) client.dropConnection();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      client.submit();
      await client.flushed();
    }),
  );
  t.same(nacks, [], 'nothing nacked');
  assertStoredAsAcked(t, await storedEventsByStudent(cluster.client('check'), EXAM, BUCKETS), acked, ANSWERS + 2, 'across processes and shards');

  // One live session per student across processes: connect the same student until two sockets
  // sit on different processes; the older must then be replaced (ux_hello publishes on its shard,
  // every process hears it through whichever node it subscribed to).
  const { R1: token } = await ux.tokens('CL-MP-R', ['R1']);
  await assertReplacedAcrossProcesses(t, ux, token!);

  const expected = expectedFromAcked(EXAM, acked);
  const closedFrames = clients.map((client) => new Promise<void>((resolve) => client.once('closed', () => resolve())));
  t.equal((await ux.api('POST', `/api/exams/${EXAM}/finalize`)).status, 202);
  await Promise.all(closedFrames);
  t.pass('every connected student, on every process, was told the exam closed');
  const done = await waitForExamState(ux, EXAM, ['exported', 'failed'], 60_000);
  t.match(done, { state: 'exported', students: STUDENTS, events: expected.events, export: { bucketsDone: BUCKETS, error: null } });
  assertSqliteResults(t, join(ux.dataDir, 'results.sqlite'), expected);

  await Promise.all(clients.map((client) => client.close()));
  t.equal(await ux.stop(), 0, 'SIGTERM drains every gateway process and exits 0');
});
