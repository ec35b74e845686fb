// The database is down when the export starts: the job retries with backoff, then fails with a
// message naming the cause; once the database is back, finalize again completes it exactly.

import t from 'tap';
import type { SystemStatus } from '../../../src/control/control-backend.js';
import { runExamTraffic, waitForExamState } from '../../helpers/exam-traffic.js';
import { recordExportFault } from '../../helpers/export-fault-record.js';
import { freePort } from '../../helpers/free-port.js';
import { assertPostgresResults, dropTables, POSTGRES_URL, uniquePrefix } from '../../helpers/postgres.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

t.test('PostgreSQL unreachable, then back', async (t) => {
  const target = new URL(POSTGRES_URL);
  const proxy = new TcpProxy(await freePort(), target.hostname, Number(target.port || 5432));
  t.teardown(() => proxy.down());
  const viaProxy = new URL(POSTGRES_URL);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const prefix = uniquePrefix('d');
  t.teardown(() => dropTables(prefix));

  const ux = await startUntradexInProcess(t, {
    redis: { buckets: 8 },
    export: { sink: 'postgres', tablePrefix: prefix, postgres: { url: viaProxy.toString() }, exporters: 2, retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 } },
  });
  const expected = await runExamTraffic(ux, 'PGD-1', { students: 40, questions: 3, changes: 2, submitEvery: 2 }, (fn) => t.teardown(fn));

  t.equal((await ux.api('POST', '/api/exams/PGD-1/finalize')).status, 202);
  const failed = await waitForExamState(ux, 'PGD-1', ['failed', 'exported']);
  t.equal(failed.state, 'failed', 'the job gives up after its retries');
  t.match(failed.export.error, /ECONNREFUSED|connect|reach/i, `the error names the cause: ${failed.export.error}`);
  t.equal(failed.export.bucketsDone, 0);
  // Every failed bucket attempt is counted by its code, on /api/status and /metrics (the job's 3 attempts at least).
  const afterFailure = (await ux.api<SystemStatus>('GET', '/api/status')).body.export!;
  const failedAttempts = Object.values(afterFailure.bucketErrors).reduce((total, count) => total + count, 0);
  t.ok(failedAttempts >= 3, `failed bucket attempts counted: ${JSON.stringify(afterFailure.bucketErrors)}`);
  t.equal(afterFailure.bucketsDone, 0);
  t.match(await (await fetch(`${ux.controlUrl}/metrics`)).text(), /^ux_export_bucket_errors_total\{code="UX_ERR_[A-Z_]+"\} [1-9]\d*$/m);

  await proxy.up();
  t.equal((await ux.api('POST', '/api/exams/PGD-1/finalize')).status, 202, 'finalize again resumes the failed job');
  const done = await waitForExamState(ux, 'PGD-1', ['exported', 'failed']);
  t.equal(done.state, 'exported', `completed once the database is back (${done.export.error ?? ''})`);
  t.equal(done.export.error, null, 'the old error is cleared');
  t.match((await ux.api<SystemStatus>('GET', '/api/status')).body.export, { bucketsDone: 8, rows: done.export.rows, running: 0 }, 'the export figures count the second run');

  const events = await assertPostgresResults(t, prefix, expected);
  recordExportFault(
    'database down during export',
    'PostgreSQL unreachable (proxy down) when finalize starts: the job retries, then fails; database back, finalize again',
    expected,
    events,
    `PostgreSQL sink (events table); the first run failed with ${failed.export.bucketsDone} buckets done, the second completed`,
  );
});
