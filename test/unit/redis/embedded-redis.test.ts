// The embedded redis-server: configured as docs/ARCHITECTURE.md says, stopped cleanly, and its AOF
// (appendfsync always) keeps every acknowledged write through kill -9 and a restart.
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { WriteOutcome } from '../../../src/events/answer-event.js';
import { BucketReader } from '../../../src/redis/bucket-reader.js';
import { BucketStore } from '../../../src/redis/bucket-store.js';
import { EmbeddedRedis, type EmbeddedRedisOptions } from '../../../src/redis/embedded-redis.js';
import { loadFunctionLibrary } from '../../../src/redis/function-library.js';
import { createRedisClient } from '../../../src/redis/redis-client.js';
import { freePort } from '../../helpers/free-port.js';
import type { TeardownHost } from '../../helpers/redis-server.js';
import { answer, ev } from './store-fixture.js';

type Host = TeardownHost;

async function embedded(t: Host, overrides: Partial<EmbeddedRedisOptions> = {}): Promise<EmbeddedRedis> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'ux-embedded-')));
  const server = new EmbeddedRedis({ serverPath: 'redis-server', port: await freePort(), dataDir, appendfsync: 'always', ...overrides });
  t.teardown(async () => {
    await server.stop();
    if (overrides.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
  });
  return server;
}

function client(t: Host, server: EmbeddedRedis) {
  const redis = createRedisClient({ url: server.url }, 'embedded-test');
  redis.on('error', () => undefined);
  t.teardown(() => redis.disconnect());
  return redis;
}

t.test('starts with AOF on, no RDB, noeviction, bound to localhost; stops idempotently', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ux-embedded-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const server = await embedded(t, { dataDir, appendfsync: 'everysec' });
  let unasked = 0;
  server.on('exit', () => unasked++);
  await server.start();
  t.type(server.pid, 'number');
  t.equal(server.url, `redis://127.0.0.1:${server.port}`);
  const redis = client(t, server);
  const config = async (key: string) => ((await redis.config('GET', key)) as string[])[1];
  t.equal(await config('appendonly'), 'yes');
  t.equal(await config('appendfsync'), 'everysec');
  t.equal(await config('hz'), '10', 'everysec: the cron that fsyncs the last writes of an idle server keeps its pace');
  t.equal(await config('save'), '');
  t.equal(await config('maxmemory-policy'), 'noeviction');
  t.equal(await config('bind'), '127.0.0.1');
  t.equal(await config('dir'), join(dataDir, 'redis'));
  t.ok(existsSync(join(dataDir, 'redis', 'redis.log')), 'log file in <dataDir>/redis');
  await t.rejects(server.start(), { code: 'UX_ERR_REDIS_START' }, 'a second start is refused');
  redis.disconnect();
  await Promise.all([server.stop(), server.stop()]);
  t.equal(server.pid, undefined);
  await server.stop();
  t.equal(unasked, 0, 'stop() is not reported as an exit');
});

t.test('kill -9 is reported, and the AOF brings every write back on the same dataDir', async (t) => {
  const server = await embedded(t, { appendfsync: 'always' });
  await server.start();
  const redis = client(t, server);
  await loadFunctionLibrary(redis);
  const store = new BucketStore(redis, 1);
  const { epoch } = await store.claimSession('E1', 'S1');
  const events = [ev('S1', epoch, 1, 'open'), answer('S1', epoch, 2, 'Q1', 'durable'), ev('S1', epoch, 3, 'submit')];
  t.same(await store.writeBatch('E1', 0, events), [0, 0, 0]);

  const exited = once(server, 'exit');
  server.kill('SIGKILL');
  const [code, signal] = (await exited) as [number | null, string | null];
  t.same({ code, signal }, { code: null, signal: 'SIGKILL' });
  t.equal(server.pid, undefined);

  await server.start();
  // The client reconnects by itself; the function library came back with the AOF too.
  const claim = await store.claimSession('E1', 'S1');
  t.same(claim, { stale: false, epoch: epoch + 1, lastSeq: 3, submitted: true, closed: false });
  // The client resends through its new session: everything is already there.
  const resent = events.map((event) => ({ ...event, epoch: claim.epoch }));
  t.same(await store.writeBatch('E1', 0, resent), [WriteOutcome.Duplicate, WriteOutcome.Duplicate, WriteOutcome.Duplicate]);
  const rows = [];
  for await (const chunk of new BucketReader(redis, 'E1', 0, 10).answers()) rows.push(...chunk);
  t.same(rows.map((r) => r.value), ['durable']);
  t.same(await store.examCounts('E1'), { students: 1, events: 3, closedBuckets: 0, submitted: 1, connected: 0 });
});

t.test('a new instance on the same dataDir after a clean stop finds the data', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ux-embedded-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const first = await embedded(t, { dataDir });
  await first.start();
  const redis1 = client(t, first);
  await loadFunctionLibrary(redis1);
  await new BucketStore(redis1, 1).writeBatch('E1', 0, [answer('S1', 1, 1, 'Q1', 'x')]);
  redis1.disconnect();
  await first.stop();

  const second = await embedded(t, { dataDir });
  await second.start();
  const redis2 = client(t, second);
  t.same(await new BucketStore(redis2, 1).examCounts('E1'), { students: 1, events: 1, closedBuckets: 0, submitted: 0, connected: 0 });
});

t.test('appendfsync always: the cron ticks once a second, and stop() asks with SHUTDOWN (prompt at any hz), password or not', async (t) => {
  for (const password of [undefined, 'embedded pass "quoted"']) {
    const server = await embedded(t, password === undefined ? {} : { password });
    await server.start();
    const redis = createRedisClient({ url: server.url, ...(password === undefined ? {} : { password }) }, 'embedded-test');
    redis.on('error', () => undefined);
    t.equal(((await redis.config('GET', 'hz')) as string[])[1], '1', 'hz 1: nothing of durability waits on the cron');
    await redis.set('k', 'v');
    redis.disconnect();
    await server.stop();
    const log = await readFile(server.logPath, 'utf8');
    // Redis acts on SIGTERM only at its next cron tick (up to 1 s at hz 1); SHUTDOWN acts at once.
    t.match(log, /User requested shutdown/, `stopped by the SHUTDOWN command (${password === undefined ? 'no password' : 'with a password'})`);
    t.notMatch(log, /Received SIGTERM/, 'not by a signal');
    t.match(log, /Redis is now ready to exit/, 'a clean exit, the AOF fsynced');
  }
});

t.test('a server that hangs on SIGTERM is killed after stopTimeoutMs, and that stop is no crash', async (t) => {
  const server = await embedded(t, { stopTimeoutMs: 300 });
  const crashes: string[] = [];
  server.onCrash((error) => crashes.push(error.code));
  let unasked = 0;
  server.on('exit', () => unasked++);
  await server.start();
  process.kill(server.pid!, 'SIGSTOP'); // a stopped process does not act on SIGTERM; SIGKILL still ends it
  const started = Date.now();
  await server.stop();
  const took = Date.now() - started;
  t.ok(took >= 280, `it waited for the graceful stop first (${took} ms)`);
  t.ok(took < 5_000, `and then killed it rather than waiting on (${took} ms)`);
  t.equal(server.pid, undefined, 'the process is gone');
  await sleep(300); // a crash is worded from the log and the disk before it is told: give it the time
  t.same({ crashes, unasked }, { crashes: [], unasked: 0 }, 'an exit it was asked for is no crash');
});

t.test('an unasked exit reaches onCrash once, as UX_ERR_REDIS_UNAVAILABLE in words, and the exit event alike', async (t) => {
  const server = await embedded(t);
  await server.start();
  const crashes: Array<{ code: string; message: string }> = [];
  const crashed = new Promise<void>((resolve) => server.onCrash((error) => (crashes.push({ code: error.code, message: error.message }), resolve())));
  const exited = once(server, 'exit');
  server.kill('SIGKILL');
  await crashed;
  const [, signal, cause] = (await exited) as [number | null, string | null, string];
  t.equal(signal, 'SIGKILL');
  t.same(crashes, [{ code: 'UX_ERR_REDIS_UNAVAILABLE', message: `embedded redis-server ${cause}` }]);
  await server.stop();
  t.equal(crashes.length, 1, 'stopping a crashed server reports nothing more');
});
