// Issue 10 item 6 and docs/PROTOCOL.md section 6's secrets: dataDir, the AOF and the SQLite results are
// the owner's only; the embedded Redis wants a password; secrets come from the environment and
// never reach the log; the admin token is printed only by the start that generated it.

import { chmod, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import t from 'tap';
import { waitForExamState, runExamTraffic } from '../helpers/exam-traffic.js';
import { embeddedRedisPassword, startUntradexProcess } from '../helpers/untradex.js';

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

t.test('files are private, Redis needs its password, the admin token is printed once', async (t) => {
  const previous = process.umask(0o022); // a usual login umask: files would be world-readable by default
  t.teardown(() => process.umask(previous));
  const ux = await startUntradexProcess(t, { redis: { buckets: 4 } });
  t.match(ux.output(), /admin token \(kept in .*secrets\.json\): \S{16,}/, 'the first start prints the token it generated');
  await runExamTraffic(ux, 'PRIV', { students: 5, questions: 2, changes: 1, submitEvery: 1 }, (fn) => t.teardown(fn));
  t.equal((await ux.api('POST', '/api/exams/PRIV/finalize')).status, 202);
  await waitForExamState(ux, 'PRIV', ['exported']);

  t.equal(await modeOf(ux.dataDir), 0o700, 'dataDir is 0700');
  t.equal(await modeOf(join(ux.dataDir, 'secrets.json')), 0o600, 'secrets.json is 0600');
  t.equal(await modeOf(join(ux.dataDir, 'redis')), 0o700, 'the Redis directory is 0700');
  const redisFiles = await filesUnder(join(ux.dataDir, 'redis'));
  t.ok(redisFiles.some((file) => file.includes('appendonly')), 'the AOF is there');
  for (const file of redisFiles) t.equal(await modeOf(file), 0o600, `${file.slice(ux.dataDir.length)} is 0600`);
  for (const file of (await filesUnder(ux.dataDir)).filter((path) => path.includes('results.sqlite'))) t.equal(await modeOf(file), 0o600, `${file.slice(ux.dataDir.length)} is 0600`);
  t.same((await readdir(ux.dataDir)).filter((name) => name.endsWith('.tmp')), [], 'no temporary secrets file left behind');

  // Another local user, speaking RESP on the port without the password.
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(ux.redisPort, '127.0.0.1', () => socket.write('KEYS ux:*\r\n'));
    socket.once('data', (data) => {
      resolve(data.toString());
      socket.destroy();
    });
    socket.once('error', reject);
  });
  t.match(reply, /^-NOAUTH/, 'a client without the password reads nothing');
  t.ok(embeddedRedisPassword(ux.dataDir), 'the password is kept in secrets.json');
  t.ok((await ux.redis().keys('ux:*')).length > 0, 'with it, the data is there');
  const password = embeddedRedisPassword(ux.dataDir)!;
  t.notMatch(ux.output(), password, 'the Redis password is never printed');

  t.equal(await ux.stop(), 0);
  await ux.restart();
  t.notMatch(ux.output(), /admin token \(kept/, 'a later start does not print the token again');
  t.equal(await ux.stop(), 0);

  await chmod(join(ux.dataDir, 'secrets.json'), 0o644);
  await t.rejects(ux.restart(), /can be read by other users \(mode 0644\).*chmod 600/s, 'a secrets file others can read stops the start, saying what to do');
});

t.test('secrets from the environment (and from files named by *_FILE) are used and never logged', async (t) => {
  const adminToken = 'env-admin-token-0123456789abcdef';
  const authSecret = 'env-auth-secret-from-a-file-0123456789';
  const secretFile = join(await import('node:os').then((os) => os.tmpdir()), `ux-secret-${process.pid}`);
  await writeFile(secretFile, `${authSecret}\n`, { mode: 0o600 });
  t.teardown(() => import('node:fs/promises').then((fs) => fs.rm(secretFile, { force: true })));
  process.env.UNTRADEX_ADMIN_TOKEN = adminToken;
  process.env.UNTRADEX_AUTH_SECRET_FILE = secretFile;
  t.teardown(() => {
    delete process.env.UNTRADEX_ADMIN_TOKEN;
    delete process.env.UNTRADEX_AUTH_SECRET_FILE;
  });
  const ux = await startUntradexProcess(t, { log: { level: 'debug' } });
  t.equal(ux.adminToken, adminToken, 'the admin token is the one from UNTRADEX_ADMIN_TOKEN');
  t.equal((await ux.api('GET', '/api/status')).status, 200, 'and the control API takes it');
  const token = (await ux.tokens('ENV', ['S1'])).S1!;
  const { createHmac } = await import('node:crypto');
  const [version, payload, signature] = token.split('.');
  t.equal(createHmac('sha256', authSecret).update(`${version}.${payload}`).digest('base64url'), signature, 'student tokens are signed with the secret from UNTRADEX_AUTH_SECRET_FILE');
  t.equal(await ux.stop(), 0);
  t.notMatch(ux.output(), adminToken, 'the admin token is not in the output (debug level included)');
  t.notMatch(ux.output(), authSecret, 'nor the auth secret');
});
