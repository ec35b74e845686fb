// An external Redis is checked, not trusted (issue 10 item 3): Untradex refuses to start on a
// Redis that would not keep acked answers as redis.appendfsync promises, names the setting and
// the fix, shows what every server really has in /api/status, and checks again after a reconnect.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { assertDurable } from '../../../src/redis/durability-check.js';
import { freePort } from '../../helpers/free-port.js';
import { startTestRedis } from '../../helpers/redis-server.js';
import { startUntradexInProcess, startUntradexProcess } from '../../helpers/untradex.js';

interface Status {
  redis: { servers: Array<{ node: string; appendonly: string; appendfsync: string; maxmemoryPolicy: string; problem: string | null }> };
}

t.test('a Redis started with appendonly no is refused at start, naming the setting', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ux-noaof-'));
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'no', '--save', '', '--dir', dir], { stdio: 'ignore' });
  t.teardown(async () => {
    server.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`http://127.0.0.1:${port}`).then(() => true, (error: { cause?: { code?: string } }) => error.cause?.code !== 'ECONNREFUSED');
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const start = startUntradexProcess(t, { redis: { embedded: false, url: `redis://127.0.0.1:${port}` } });
  const error = await start.then(() => null, (failure: Error) => failure);
  t.ok(error !== null, 'the CLI did not start');
  t.match(error?.message, /exited with 1 while starting/, 'it exited non-zero');
  t.match(error?.message, /UX_ERR_REDIS_DURABILITY/, 'with the error code');
  t.match(error?.message, new RegExp(`127\\.0\\.0\\.1:${port} has appendonly no`), 'naming the server and the setting');
  t.match(error?.message, /appendonly yes/, 'and the fix');
});

t.test('each setting that breaks the promise is refused; a stronger one is fine', async (t) => {
  const redis = await startTestRedis(t, { appendfsync: 'always' });
  const client = redis.client();
  t.same((await assertDurable(client, 'always')).map((node) => node.problem), [null], 'appendonly yes, appendfsync always, noeviction');
  t.same((await assertDurable(client, 'everysec')).map((node) => node.problem), [null], 'always is stronger than a promised everysec');
  await client.config('SET', 'appendfsync', 'everysec');
  await t.rejects(assertDurable(client, 'always'), { code: 'UX_ERR_REDIS_DURABILITY', message: /appendfsync everysec but redis\.appendfsync is always/ });
  await client.config('SET', 'appendfsync', 'no');
  await t.rejects(assertDurable(client, 'everysec'), { code: 'UX_ERR_REDIS_DURABILITY', message: /appendfsync no/ });
  await client.config('SET', 'appendfsync', 'always');
  await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
  await t.rejects(assertDurable(client, 'always'), { code: 'UX_ERR_REDIS_DURABILITY', message: /maxmemory-policy allkeys-lru.*noeviction/ });
  await client.config('SET', 'maxmemory-policy', 'volatile-ttl');
  await t.rejects(assertDurable(client, 'always'), { code: 'UX_ERR_REDIS_DURABILITY' }, 'volatile policies evict too (the export lease has a TTL)');
});

t.test('/api/status shows what the server has; a reconnect that finds it changed makes /readyz say so', async (t) => {
  const redis = await startTestRedis(t, { appendfsync: 'always' });
  const ux = await startUntradexInProcess(t, { redis: { embedded: false, url: redis.url, buckets: 2 } });
  const status = (await ux.api<Status>('GET', '/api/status')).body;
  t.match(status.redis.servers, [{ node: `127.0.0.1:${redis.port}`, appendonly: 'yes', appendfsync: 'always', maxmemoryPolicy: 'noeviction', problem: null }]);
  t.equal((await fetch(`${ux.controlUrl}/readyz`)).status, 200);

  const admin = redis.client('admin');
  await admin.config('SET', 'appendonly', 'no');
  // Every client of the root reconnects, as after a restart of the server.
  await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  let body: { ok: boolean; reasons: string[] } = { ok: true, reasons: [] };
  for (let i = 0; i < 100 && body.ok; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    body = (await (await fetch(`${ux.controlUrl}/readyz`)).json()) as typeof body;
  }
  t.equal(body.ok, false, '/readyz turns 503');
  t.match(body.reasons.join('\n'), /redis durability: .*appendonly no/, 'with the reason');
  t.match((await ux.api<Status>('GET', '/api/status')).body.redis.servers[0], { appendonly: 'no', problem: /appendonly no/ });
});
