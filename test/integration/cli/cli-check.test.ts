// `untradex check` before the exam: the config, Redis (its durability settings, or an installed
// redis-server for embedded mode) and the result database (a connection, the tables), each on a
// line; a wrong database URL or a Redis that would lose acked answers fails here, exit 1.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/free-port.js';
import { dropTables, POSTGRES_URL, uniquePrefix, withPgClient } from '../../helpers/postgres.js';
import { startTestRedis, type TeardownHost } from '../../helpers/redis-server.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

const DB_PASSWORD = 'pw-never-printed';

async function configFile(t: TeardownHost, config: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ux-check-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ dataDir: join(dir, 'data'), ...config }));
  return file;
}

t.test('embedded Redis not running, SQLite: every check passes', async (t) => {
  const file = await configFile(t, { redis: { port: await freePort() } });
  const run = await runCli(['check', '--config', file]);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.match(run.stdout, /^ok {4}config {2}.* is valid/m);
  t.match(run.stdout, /^ok {4}redis {3}embedded: redis-server \d+\.\d+\.\d+ is installed; untradex start runs it with appendonly yes, appendfsync always/m);
  t.match(run.stdout, /^ok {4}sink {4}sqlite .*results\.sqlite accepts a connection, and the ux_answers, ux_events and ux_submissions tables exist/m);
  t.match(run.stdout, /All checks passed\./);
});

t.test('a wrong PostgreSQL URL fails the check, naming the key, without the password', async (t) => {
  const url = `postgres://postgres:${DB_PASSWORD}@127.0.0.1:${await freePort()}/test`;
  const file = await configFile(t, { redis: { port: await freePort() }, export: { sink: 'postgres', postgres: { url } } });
  const run = await runCli(['check', '--config', file]);
  t.equal(run.code, 1);
  t.match(run.stdout, /^FAIL {2}sink {4}postgres: .*ECONNREFUSED.*check export\.postgres\.url \(or UNTRADEX_POSTGRES_URL\)/m);
  t.match(run.stdout, /1 check\(s\) failed/);
  t.notOk(run.stdout.includes(DB_PASSWORD) || run.stderr.includes(DB_PASSWORD), 'the password is not printed');
  // The URL may come from the environment instead, as a secret (docs/PROTOCOL.md section 6).
  const prefix = uniquePrefix('k');
  t.teardown(() => dropTables(prefix));
  const good = await configFile(t, { redis: { port: await freePort() }, export: { sink: 'postgres', tablePrefix: prefix } });
  const viaEnv = await runCli(['check', '--config', good], { env: { UNTRADEX_POSTGRES_URL: POSTGRES_URL } });
  t.equal(viaEnv.code, 0, viaEnv.stdout);
  t.match(viaEnv.stdout, new RegExp(`^ok {4}sink {4}postgres accepts a connection, and the ${prefix}answers`, 'm'));
  const tables = await withPgClient((client) => client.query<{ n: string }>(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name LIKE '${prefix}%'`));
  t.equal(Number(tables.rows[0]!.n), 3, 'the check created the three tables');
});

t.test('an external Redis: its durability settings are read, and a Redis that would lose acks fails', async (t) => {
  const redis = await startTestRedis(t);
  const file = await configFile(t, { redis: { embedded: false, url: redis.url, appendfsync: 'everysec' } });
  const ok = await runCli(['check', '--config', file]);
  t.equal(ok.code, 0, ok.stdout);
  t.match(ok.stdout, /^ok {4}redis {3}.* answers: 127\.0\.0\.1:\d+ appendonly yes, appendfsync everysec, maxmemory-policy noeviction/m);
  await redis.client().config('SET', 'appendonly', 'no');
  const bad = await runCli(['check', '--config', file]);
  t.equal(bad.code, 1);
  t.match(bad.stdout, /^FAIL {2}redis {3}Redis at 127\.0\.0\.1:\d+ has appendonly no/m);
  const nobody = await configFile(t, { redis: { embedded: false, url: `redis://127.0.0.1:${await freePort()}` } });
  const down = await runCli(['check', '--config', nobody]);
  t.equal(down.code, 1);
  t.match(down.stdout, /^FAIL {2}redis {3}.* does not answer \(.*ECONNREFUSED.*\).*check redis\.url/m);
  t.notMatch(down.stdout, /did not answer within/, 'a refused connection is reported at once, not after the timeout');
});

t.test('while Untradex runs, its embedded Redis is checked live', async (t) => {
  const ux = await startUntradexInProcess(t);
  const file = await configFile(t, { dataDir: ux.dataDir, redis: { port: ux.redisPort } });
  const run = await runCli(['check', '--config', file]);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.match(run.stdout, /^ok {4}redis {3}embedded Redis on 127\.0\.0\.1:\d+ answers: .*appendonly yes, appendfsync always/m);
});

t.test('a bad config stops the check with exit 2, naming the key', async (t) => {
  const file = await configFile(t, { gateway: { presence: { refreshMs: 5000, ttlMs: 6000 } } });
  const run = await runCli(['check', '--config', file]);
  t.equal(run.code, 2);
  t.match(run.stderr, /gateway\.presence.*refreshMs must be at most a third of ttlMs/);
});
