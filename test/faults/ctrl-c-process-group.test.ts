// Rule S1: Ctrl-C in a terminal (and systemd's stop) signals the whole process group, not only
// Untradex. Its children (embedded redis-server, listen-socket broker) must not take that signal
// themselves: the stop is the supervisor's, in order, and looks like a clean stop, not a crash.

import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import t from 'tap';
import { runExamTraffic, waitForExamState } from '../helpers/exam-traffic.js';
import { errorLines } from '../helpers/log-lines.js';
import { startUntradexProcess } from '../helpers/untradex.js';
import { StudentLoad } from './support/student-load.js';
import { assertExactlyOnce, recordFault, snapshotAcks, tallyRedis } from './support/tally.js';

const BUCKETS = 16;
const STUDENTS = 40;
const CLOSE_GOING_AWAY = 1001;

t.test('SIGINT to the whole process group under load: exit 0, clean log, 1001 closes, nothing acked lost', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { buckets: BUCKETS, appendfsync: 'always' }, gateway: { connectionActors: 2 }, writers: { count: 2 } });
  const load = await StudentLoad.start(t, ux, { exam: 'CTRLC', students: STUDENTS, answersEach: 400, pauseMs: 10, reconnect: false, submit: false });
  await load.ackedAtLeast(800);

  const signalledAt = performance.now();
  const exited = new Promise<number | null>((resolve) => ux.child.once('exit', (code) => resolve(code)));
  // What a terminal does on Ctrl-C: the signal goes to every process of the foreground group.
  process.kill(-ux.child.pid!, 'SIGINT');
  const code = await exited;
  const stopMs = Math.round(performance.now() - signalledAt);
  t.equal(code, 0, 'exit code 0');
  t.same(errorLines(ux.output()), [], 'a normal stop logs nothing at error level');
  await load.created();
  const acked = snapshotAcks(load);
  const codes = new Set(load.students.flatMap((student) => student.closeCodes));
  t.same([...codes], [CLOSE_GOING_AWAY], 'every socket was closed with 1001 (going away)');

  await ux.restart();
  const tally = await tallyRedis(ux.redis(), acked, BUCKETS);
  assertExactlyOnce(t, tally, 'Redis after a restart');
  t.equal(await ux.stop(), 0, 'the restarted process stops cleanly');
  recordFault(
    'Ctrl-C to the process group under load',
    `SIGINT to the CLI's whole process group (as a terminal sends it) while ${STUDENTS} students send; restart to read Redis`,
    tally,
    `Redis; exit code ${code} after ${stopMs} ms; no error-level log line; every socket closed 1001`,
  );
});

t.test('a second Ctrl-C during a slow stop ends it at once, non-zero', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { buckets: 4 }, export: { exporters: 1 } });
  await runExamTraffic(ux, 'CTRLC2', { students: 10, questions: 2, changes: 1, submitEvery: 2 }, (fn) => t.teardown(fn));
  // An export blocked on the database's write lock makes the stop wait for its bucket's checkpoint.
  const db = new Database(`${ux.dataDir}/results.sqlite`);
  db.pragma('journal_mode = WAL');
  db.exec('BEGIN IMMEDIATE');
  t.teardown(() => db.close());
  t.equal((await ux.api('POST', '/api/exams/CTRLC2/finalize')).status, 202);
  await waitForExamState(ux, 'CTRLC2', ['exporting']);

  const exited = new Promise<number | null>((resolve) => ux.child.once('exit', (code) => resolve(code)));
  process.kill(-ux.child.pid!, 'SIGINT');
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(ux.child.exitCode, null, 'the first Ctrl-C is still waiting for the export to reach its checkpoint');
  const secondAt = performance.now();
  process.kill(-ux.child.pid!, 'SIGINT');
  const code = await exited;
  t.equal(code, 130, 'the second Ctrl-C ends the stop at once with 128 + SIGINT');
  t.ok(performance.now() - secondAt < 3_000, 'within moments');
  db.exec('ROLLBACK');
});
