// Fault 5: power loss. SIGKILL of the whole process group (Untradex, its redis-server, the listen
// socket broker) mid-load with appendfsync always; restart on the same dataDir; the students
// reconnect and resend; after finalize every acked event is in the SQLite sink exactly once.

import t from 'tap';
import { waitForExamState } from '../helpers/exam-traffic.js';
import { startUntradexProcess } from '../helpers/untradex.js';
import { StudentLoad } from './support/student-load.js';
import { assertComplete, assertExactlyOnce, assertRedisHoldsLoad, recordFault, snapshotAcks, tallySqlite } from './support/tally.js';

const BUCKETS = 16;
const STUDENTS = 40;
const EXAM = 'POWER';

t.test('kill -9 of the process group with appendfsync always: every acked event reaches the sink once', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { buckets: BUCKETS, appendfsync: 'always' }, gateway: { connectionActors: 2 }, writers: { count: 2 }, export: { exporters: 2 } });
  const load = await StudentLoad.start(t, ux, { exam: EXAM, students: STUDENTS, answersEach: 120, pauseMs: 15, reconnect: { baseMs: 50, maxMs: 400 } });
  await load.ackedAtLeast(600);

  await ux.killGroup();
  // What the students hold as durable at the moment the power went: all of it must survive.
  const ackedAtKill = snapshotAcks(load);
  const createdAtKill = load.createdTotal;
  await ux.restart();
  await load.flushed(60_000);

  await assertRedisHoldsLoad(t, ux.redis(), load, BUCKETS, 'Redis after the restart');
  const reconnected = load.students.filter((student) => student.client.stats.reconnects > 0).length;
  t.equal(reconnected, STUDENTS, 'every student lost its socket and reconnected');

  t.equal((await ux.api('POST', `/api/exams/${EXAM}/finalize`)).status, 202, 'finalize accepted');
  const done = await waitForExamState(ux, EXAM, ['exported', 'failed']);
  t.equal(done.state, 'exported', `the export completed${done.export.error === null ? '' : ` (${done.export.error})`}`);
  const sink = tallySqlite(`${ux.dataDir}/results.sqlite`, load);
  assertExactlyOnce(t, sink, 'SQLite sink');
  assertComplete(t, load, sink, 'SQLite sink');
  const fromKill = tallySqlite(`${ux.dataDir}/results.sqlite`, ackedAtKill);
  t.equal(fromKill.lost, 0, `all ${fromKill.acked} events acked before the kill are in the sink`);
  t.equal(await ux.stop(), 0, 'the restarted process stops cleanly');

  recordFault(
    'power loss (appendfsync always)',
    `SIGKILL of the process group (Untradex, redis-server) under load, restart on the same dataDir, finalize; ${STUDENTS} students`,
    sink,
    `SQLite sink after finalize; ${fromKill.acked} events acked before the kill and ${createdAtKill - fromKill.acked} unacked (resent after the restart); all ${reconnected} students reconnected`,
  );
});
