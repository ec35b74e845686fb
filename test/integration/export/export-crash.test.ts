// Crashes in the middle of an export: an exporter thread killed, and separately the whole process
// group (Untradex and its redis-server) killed. Finalize again; the tables must be exactly right.
// The test holds SQLite's write lock so that the export is reliably caught in the middle.

import Database from 'better-sqlite3';
import t from 'tap';
import { runExamTraffic, waitForExamState, type ExamBody } from '../../helpers/exam-traffic.js';
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
  const ux = await startUntradexInProcess(t, { redis: { buckets: 16 }, export: { exporters: 2, chunkSize: 25, retry: { attempts: 10, baseDelayMs: 20, maxDelayMs: 200 } } });
  const expected = await runExamTraffic(ux, 'XK-1', TRAFFIC, (fn) => t.teardown(fn));
  const lock = holdWriteLock(ux.config.export.sqlite.path);
  t.equal((await ux.api('POST', '/api/exams/XK-1/finalize')).status, 202);
  const stuck = await waitForExamState(ux, 'XK-1', ['exporting']);
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.ok(ux.app.exporters.threads.length > 0, 'exporters are running, blocked on the database');
  await ux.app.exporters.threads[0]!.terminate();
  lock.release();
  const done = await waitForExamState(ux, 'XK-1', ['exported', 'failed']);
  t.equal(done.state, 'exported', `export completed after the crash (${done.export.error ?? ''})`);
  t.ok(stuck.export.bucketsDone < 16, 'the crash happened before the export was done');
  assertSqliteResults(t, ux.config.export.sqlite.path, expected);
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
});
