// Where the `untradex` bin finds the server and its admin token (flags, UNTRADEX_URL and
// UNTRADEX_ADMIN_TOKEN(_FILE), or the config and its dataDir's secrets.json), and how it fails:
// a wrong token, nothing listening, no token anywhere, bad arguments; --help and --version.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../../helpers/cli.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

t.test('control target and errors', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 4 } });
  const auth = ['--url', ux.controlUrl, '--token', ux.adminToken];
  await ux.api('POST', '/api/exams/CLI-1/finalize');

  t.test('the server and token from the environment, or from the config and its dataDir', async (t) => {
    const viaEnv = await runCli(['exams', '--json'], { env: { UNTRADEX_URL: ux.controlUrl, UNTRADEX_ADMIN_TOKEN: ux.adminToken } });
    t.equal(viaEnv.code, 0, viaEnv.stderr);
    t.match(JSON.parse(viaEnv.stdout), [{ exam: 'CLI-1' }]);
    const tokenFile = join(ux.dataDir, 'admin-token');
    await writeFile(tokenFile, `${ux.adminToken}\n`, { mode: 0o600 });
    const viaFile = await runCli(['exams', '--json', '--url', ux.controlUrl], { env: { UNTRADEX_ADMIN_TOKEN_FILE: tokenFile } });
    t.equal(viaFile.code, 0, viaFile.stderr);
    // The server's own config: its dataDir's secrets.json holds the token (generated at its start).
    const config = join(ux.dataDir, 'cli-config.json');
    await writeFile(config, JSON.stringify({ dataDir: ux.dataDir, control: { port: ux.config.control.port } }));
    const viaConfig = await runCli(['--config', config, 'exams', '--json']);
    t.equal(viaConfig.code, 0, viaConfig.stderr);
    t.match(JSON.parse(viaConfig.stdout), [{ exam: 'CLI-1' }]);
    const viaConfigEnv = await runCli(['exams', '--json'], { env: { UNTRADEX_CONFIG: config } });
    t.equal(viaConfigEnv.code, 0, viaConfigEnv.stderr);
  });

  t.test('errors: a wrong token, nothing listening, no token anywhere, bad arguments', async (t) => {
    const wrong = await runCli(['--url', ux.controlUrl, '--token', 'not-the-admin-token', 'exams']);
    t.equal(wrong.code, 1);
    t.equal(wrong.stdout, '');
    t.match(wrong.stderr, /^untradex: the control API at http:\/\/127\.0\.0\.1:\d+ refused the admin token \(from --token\): pass the token/);
    t.notOk(wrong.stderr.includes('not-the-admin-token'), 'the token is not echoed');
    const nobody = await runCli(['--url', 'http://127.0.0.1:9', '--token', 'x', 'status']);
    t.equal(nobody.code, 1);
    t.match(nobody.stderr, /cannot reach the control API at http:\/\/127\.0\.0\.1:9 .*is Untradex running there\?/);
    const empty = join(ux.dataDir, 'empty-config.json');
    await writeFile(empty, JSON.stringify({ dataDir: join(ux.dataDir, 'no-server-here') }));
    const noToken = await runCli(['--config', empty, 'exams']);
    t.equal(noToken.code, 2);
    t.match(noToken.stderr, /no admin token: pass --token or set UNTRADEX_ADMIN_TOKEN/);
    const badExam = await runCli([...auth, 'finalize', 'bad exam!']);
    t.equal(badExam.code, 2);
    t.match(badExam.stderr, /exam ids are 1 to 64 characters/);
    const unknown = await runCli(['stauts']);
    t.equal(unknown.code, 2);
    t.match(unknown.stderr, /unknown command 'stauts'[\s\S]*Did you mean status\?/);
    const help = await runCli(['--help']);
    t.equal(help.code, 0);
    t.match(help.stdout, /Examples:[\s\S]*untradex finalize MATH-1 --wait/);
    const version = await runCli(['--version']);
    t.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
