// `untradex finalize --wait` when the export fails (the result database is unreachable): the command
// says why and how to resume, and exits 1; the exam reads failed and can be finalized again.

import t from 'tap';
import { StudentClient } from '../../../src/client/student-client.js';
import { runCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/free-port.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

t.test('finalize --wait exits 1 when the export fails', async (t) => {
  const deadUrl = `postgres://postgres@127.0.0.1:${await freePort()}/test`;
  const ux = await startUntradexInProcess(t, {
    redis: { buckets: 2 },
    export: { sink: 'postgres', postgres: { url: deadUrl }, retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } },
  });
  const { F1: token } = await ux.tokens('CLI-F', ['F1']);
  const client = new StudentClient({ url: ux.gatewayUrl, token: token! });
  t.teardown(() => client.close());
  await client.connect();
  client.answer('Q1', 'x');
  await client.flushed();
  await client.close();

  const run = await runCli(['--url', ux.controlUrl, '--token', ux.adminToken, 'finalize', 'CLI-F', '--wait']);
  t.equal(run.code, 1, run.stdout);
  t.match(run.stdout, /exam CLI-F: (closing|exporting|failed), \d\/2 buckets/, 'the steps it saw');
  t.match(run.stderr, /^untradex: UX_ERR_EXPORT: the export of exam CLI-F failed: .*ECONNREFUSED.*run `untradex finalize CLI-F --wait` again: it resumes where it stopped\n$/);
  t.match((await ux.api('GET', '/api/exams/CLI-F')).body, { state: 'failed' });
});
