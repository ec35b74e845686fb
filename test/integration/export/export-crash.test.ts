// Crashes in the middle of an export: an exporter thread killed, and separately the whole process
// group (Untradex and its redis-server) killed. Finalize again; the tables must be exactly right.
// The test holds a database lock so that the export is reliably caught in the middle.

import Database from 'better-sqlite3';
import pg from 'pg';
import t from 'tap';
import { createSink } from '../../../src/sinks/create-sink.js';
import { runExamTraffic, waitForExamState, type ExamBody } from '../../helpers/exam-traffic.js';
import { recordExportFault, sqliteEventKeys } from '../../helpers/export-fault-record.js';
import { assertPostgresResults, dropTables, POSTGRES_URL, uniquePrefix } from '../../helpers/postgres.js';
import { assertSqliteResults } from '../../helpers/sqlite-results.js';
import { startUntradexInProcess, startUntradexProcess } from '../../helpers/untradex.js';

const TRAFFIC = { students: 80, questions: 4, changes: 2, submitEvery: 3 };

/** Takes the database's write lock: the exporters then wait inside their bucket transactions. */
function holdWriteLock(path: string): { release(): void } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('BEGIN IMMEDIATE');
  return {
    release() {
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

t.test('an exporter killed mid-export: the bucket is redone, nothing missing, nothing twice', async (t) => {
  // PostgreSQL here, not SQLite: the exporters then wait on the lock in JavaScript I/O, where
  // killing a thread is what a crash looks like. (A thread terminated inside a native SQLite call
  // can take the whole process down, which is not the fault this test is about.)
  const prefix = uniquePrefix('k');
  t.teardown(() => dropTables(prefix));
  const ux = await startUntradexInProcess(t, {
    redis: { buckets: 16 },
    export: { sink: 'postgres', tablePrefix: prefix, postgres: { url: POSTGRES_URL }, exporters: 2, chunkSize: 25, retry: { attempts: 10, baseDelayMs: 20, maxDelayMs: 200 } },
  });
  const expected = await runExamTraffic(ux, 'XK-1', TRAFFIC, (fn) => t.teardown(fn));
  const sink = createSink({ kind: 'postgres', url: POSTGRES_URL, tablePrefix: prefix });
  await sink.ensureTables();
  await sink.close();
  const locker = new pg.Client({ connectionString: POSTGRES_URL });
  await locker.connect();
  t.teardown(() => locker.end());
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE ${prefix}events, ${prefix}answers, ${prefix}submissions IN ACCESS EXCLUSIVE MODE`);

  t.equal((await ux.api('POST', '/api/exams/XK-1/finalize')).status, 202);
  const stuck = await waitForExamState(ux, 'XK-1', ['exporting']);
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.ok(ux.app.exporters.threads.length > 0, 'exporters are running, blocked on the database');
  await ux.app.exporters.threads[0]!.terminate();
  await locker.query('ROLLBACK');
  const done = await waitForExamState(ux, 'XK-1', ['exported', 'failed']);
  t.equal(done.state, 'exported', `export completed after the crash (${done.export.error ?? ''})`);
  t.equal(stuck.export.bucketsDone, 0, 'the crash happened before any bucket was committed');

  const events = await assertPostgresResults(t, prefix, expected);
  recordExportFault(
    'exporter killed mid-export',
    'one of 2 exporter threads terminated while its bucket transaction waited on a PostgreSQL lock; the job redoes the bucket',
    expected,
    events,
    'PostgreSQL sink (events table) once the export completed',
  );
});

t.test('the whole process killed mid-export: restart, finalize again, exact tables', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { buckets: 16, appendfsync: 'always' }, export: { exporters: 2, chunkSize: 25 } });
  const expected = await runExamTraffic(ux, 'XP-1', TRAFFIC, (fn) => t.teardown(fn));
  const lock = holdWriteLock(`${ux.dataDir}/results.sqlite`);
  t.equal((await ux.api('POST', '/api/exams/XP-1/finalize')).status, 202);
  await waitForExamState(ux, 'XP-1', ['exporting']);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await ux.killGroup();
  lock.release();

  await ux.restart();
  const afterCrash = await ux.api<ExamBody>('GET', '/api/exams/XP-1');
  t.match(afterCrash.body.state, /^(exporting|failed)$/, 'the interrupted export is visible after the restart');
  // The dead process's lease lapses within seconds; until then finalize reports, afterwards it resumes.
  let done: ExamBody | undefined;
  for (let attempt = 0; attempt < 60 && done?.state !== 'exported'; attempt += 1) {
    t.equal((await ux.api('POST', '/api/exams/XP-1/finalize')).status, 202);
    done = await waitForExamState(ux, 'XP-1', ['exported', 'failed', 'exporting']);
    if (done.state !== 'exported') await new Promise((resolve) => setTimeout(resolve, 500));
  }
  t.equal(done?.state, 'exported');
  assertSqliteResults(t, `${ux.dataDir}/results.sqlite`, expected);
  t.match(done, { students: TRAFFIC.students, events: expected.events, export: { bucketsDone: 16, percent: 100 } }, 'Redis kept every acked event across the kill -9');
  recordExportFault(
    'process killed mid-export',
    'SIGKILL of the process group (Untradex, redis-server) while exporting to SQLite; restart, finalize again',
    expected,
    sqliteEventKeys(`${ux.dataDir}/results.sqlite`, 'XP-1'),
    `SQLite sink (ux_events) after finalize resumed; state after the restart: ${afterCrash.body.state}`,
  );
});
