// Embedded start failures come back as coded errors: no binary, a busy port, an old Redis, a
// server that dies or never answers.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EmbeddedRedis } from '../../../src/redis/embedded-redis.js';
import { freePort } from '../../helpers/free-port.js';
import { startTestRedis } from '../../helpers/redis-server.js';

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ux-embedded-err-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A fake redis-server: a shell script that answers --version with `version`, then runs `body`. */
async function fakeServer(dir: string, version: string, body: string): Promise<string> {
  const path = join(dir, 'fake-redis-server');
  await writeFile(path, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Redis server v=${version} sha=00000000:0 malloc=libc bits=64"; exit 0; fi\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

t.test('a missing binary is UX_ERR_REDIS_NOT_INSTALLED', async (t) => {
  const dataDir = await tempDir(t);
  for (const serverPath of ['/nonexistent/bin/redis-server', 'untradex-no-such-redis-server']) {
    const server = new EmbeddedRedis({ serverPath, port: await freePort(), dataDir, appendfsync: 'always' });
    await t.rejects(server.start(), { code: 'UX_ERR_REDIS_NOT_INSTALLED' }, serverPath);
    t.equal(server.pid, undefined);
  }
});

t.test('a port already in use is UX_ERR_REDIS_START', async (t) => {
  const dataDir = await tempDir(t);
  const port = await freePort();
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const server = new EmbeddedRedis({ serverPath: 'redis-server', port, dataDir, appendfsync: 'always' });
  await t.rejects(server.start(), { code: 'UX_ERR_REDIS_START' });
  t.equal(server.pid, undefined);
});

t.test('a port held by another redis-server is refused, and that server is left alone', async (t) => {
  const other = await startTestRedis(t);
  const dataDir = await tempDir(t);
  const server = new EmbeddedRedis({ serverPath: 'redis-server', port: other.port, dataDir, appendfsync: 'always' });
  await t.rejects(server.start(), { code: 'UX_ERR_REDIS_START' });
  t.equal(await other.client().ping(), 'PONG');
});

t.test('Redis older than 7 is UX_ERR_REDIS_START', async (t) => {
  const dir = await tempDir(t);
  const serverPath = await fakeServer(dir, '6.2.14', 'exit 1');
  const server = new EmbeddedRedis({ serverPath, port: await freePort(), dataDir: dir, appendfsync: 'always' });
  await t.rejects(server.start(), { code: 'UX_ERR_REDIS_START' });
});

t.test('a server that exits during start is UX_ERR_REDIS_START', async (t) => {
  const dir = await tempDir(t);
  const serverPath = await fakeServer(dir, '7.2.0', 'echo "fatal: bad config" >&2; exit 1');
  const server = new EmbeddedRedis({ serverPath, port: await freePort(), dataDir: dir, appendfsync: 'always' });
  let unasked = 0;
  server.on('exit', () => unasked++);
  await t.rejects(server.start(), { code: 'UX_ERR_REDIS_START' });
  t.equal(unasked, 0, 'a failed start is reported by start(), not as an exit');
});

t.test('a server that never answers times out with UX_ERR_REDIS_START and is killed', async (t) => {
  const dir = await tempDir(t);
  const serverPath = await fakeServer(dir, '7.2.0', 'exec sleep 60');
  const server = new EmbeddedRedis({ serverPath, port: await freePort(), dataDir: dir, appendfsync: 'always', startTimeoutMs: 300 });
  await t.rejects(server.start(), { code: 'UX_ERR_REDIS_START' });
  t.equal(server.pid, undefined, 'the hung process was reaped');
});
