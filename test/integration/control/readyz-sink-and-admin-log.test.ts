// /readyz reports whether the result database answers, without failing readiness for it (students
// still write), and admin actions are logged with their outcome, never with a token or secret.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { logLines } from '../../helpers/log-lines.js';
import { freePort } from '../../helpers/free-port.js';
import { POSTGRES_URL } from '../../helpers/postgres.js';
import { startUntradexProcess } from '../../helpers/untradex.js';

const DB_PASSWORD = 'pw-that-must-not-be-logged';

interface ReadyBody {
  ok: boolean;
  reasons: string[];
  sink?: { sink: string; reachable: boolean | null; checkedAt: string | null; error: string | null };
}

t.test('a database nobody listens on is reported, and readiness holds', async (t) => {
  // A port nothing listens on: the URL is wrong, as a typo in the host or port would make it.
  const deadUrl = `postgres://postgres:${DB_PASSWORD}@127.0.0.1:${await freePort()}/test`;
  const ux = await startUntradexProcess(t, { export: { sink: 'postgres', postgres: { url: deadUrl } }, log: { level: 'info' } });
  const ready = await fetch(`${ux.controlUrl}/readyz`);
  t.equal(ready.status, 200, 'students can still write: ready');
  const body = (await ready.json()) as ReadyBody;
  t.match(body, { ok: true, reasons: [], sink: { sink: 'postgres', reachable: false, checkedAt: String, error: /ECONNREFUSED|connect/i } });
  const status = await ux.api<{ sink: ReadyBody['sink'] }>('GET', '/api/status');
  t.match(status.body.sink, { sink: 'postgres', reachable: false }, '/api/status shows it too');

  // Admin actions, each with its outcome.
  const tokens = await ux.tokens('LOG-1', ['S1', 'S2', 'S3']);
  const refusedTokens = await ux.api('POST', '/api/exams/LOG-1/tokens', { students: ['bad id!'] });
  t.equal(refusedTokens.status, 400);
  const refusedPurge = await ux.api('POST', '/api/exams/LOG-1/purge');
  t.equal(refusedPurge.status, 409);
  t.equal((await ux.api('POST', '/api/exams/LOG-1/finalize')).status, 202);
  let lines = logLines(ux.output()).filter((line) => line.admin !== undefined);
  for (let i = 0; i < 50 && lines.length < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    lines = logLines(ux.output()).filter((line) => line.admin !== undefined);
  }
  t.match(lines, [
    { admin: 'tokens', exam: 'LOG-1', outcome: 'done', students: 3, ttlSeconds: 3600, from: String },
    { admin: 'tokens', exam: 'LOG-1', outcome: 'refused', code: 'bad_request' },
    { admin: 'purge', exam: 'LOG-1', outcome: 'refused', code: 'UX_ERR_CONTROL' },
    { admin: 'finalize', exam: 'LOG-1', outcome: 'done', state: String },
  ]);
  const output = ux.output();
  for (const token of Object.values(tokens)) t.notOk(output.includes(token), 'no student token in the log');
  t.notOk(output.includes(DB_PASSWORD), 'no database password in the log');
  const { authSecret } = JSON.parse(await readFile(join(ux.dataDir, 'secrets.json'), 'utf8')) as { authSecret: string };
  t.notOk(output.includes(authSecret), 'no auth secret in the log');
  t.equal(await ux.stop(), 0);
});

t.test('a database that answers is reported reachable', async (t) => {
  const ux = await startUntradexProcess(t, { export: { sink: 'postgres', postgres: { url: POSTGRES_URL } } });
  const body = (await (await fetch(`${ux.controlUrl}/readyz`)).json()) as ReadyBody;
  t.match(body, { ok: true, sink: { sink: 'postgres', reachable: true, error: null } });
  t.equal(await ux.stop(), 0);
});
