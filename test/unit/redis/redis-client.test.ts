// Client options that keep writes safe: commands issued while Redis is down wait for it instead
// of failing; connections are named; waitForRedis gives up with a coded error.
import { setTimeout } from 'node:timers/promises';
import t from 'tap';
import { WriteOutcome } from '../../../src/events/answer-event.js';
import { createRedisClient, defaultReconnectBackoff, waitForRedis } from '../../../src/redis/redis-client.js';
import { freePort } from '../../helpers/free-port.js';
import { startTestRedis } from '../../helpers/redis-server.js';
import { answer, storeFixture } from './store-fixture.js';

t.test('connections carry their name, by url or by host and port', async (t) => {
  const server = await startTestRedis(t);
  for (const [name, target] of [
    ['by-url', { url: server.url }],
    ['by-host', { host: '127.0.0.1', port: server.port }],
  ] as const) {
    const redis = createRedisClient(target, name);
    t.teardown(() => redis.disconnect());
    await waitForRedis(redis, 5000);
    t.equal(await redis.client('GETNAME'), name);
  }
});

t.test('a write issued while Redis is down waits for the restart and is stored once', async (t) => {
  const { store, server, bucket } = await storeFixture(t, 1, { appendfsync: 'always' });
  const b = bucket('E1', 'S1');
  const { epoch } = await store.claimSession('E1', 'S1');
  await server.server.stop();
  const pending = store.writeBatch('E1', b, [answer('S1', epoch, 1, 'Q1', 'while down')]);
  await server.server.start();
  t.same(await pending, [WriteOutcome.Stored]);
  t.same(await store.examCounts('E1'), { students: 1, events: 1, closedBuckets: 0, submitted: 0, connected: 0 });
});

t.test('a write whose connection drops before Redis runs it is resent on reconnect, once', async (t) => {
  const { store, server, bucket } = await storeFixture(t, 1);
  const admin = server.client('admin');
  const b = bucket('E1', 'S1');
  const { epoch } = await store.claimSession('E1', 'S1');
  // Hold writes in the server, so the FCALL is in flight when its connection is killed.
  await admin.client('PAUSE', 60_000, 'WRITE');
  const pending = store.writeBatch('E1', b, [answer('S1', epoch, 1, 'Q1', 'in flight')]);
  const held = async (): Promise<string | undefined> => {
    const list = String(await admin.client('LIST'));
    return list.split('\n').find((line) => line.includes(' name=test ') && line.includes(' cmd=fcall'));
  };
  let line = await held();
  while (line === undefined) {
    await setTimeout(10);
    line = await held();
  }
  const id = /\bid=(\d+)/.exec(line)?.[1] ?? '';
  t.equal(await admin.client('KILL', 'ID', id), 1);
  await admin.client('UNPAUSE');
  t.same(await pending, [WriteOutcome.Stored]);
  t.same(await store.examCounts('E1'), { students: 1, events: 1, closedBuckets: 0, submitted: 0, connected: 0 });
});

t.test('waitForRedis rejects with UX_ERR_REDIS_UNAVAILABLE when nothing answers', async (t) => {
  const redis = createRedisClient({ host: '127.0.0.1', port: await freePort() }, 'nobody-home');
  redis.on('error', () => undefined);
  t.teardown(() => redis.disconnect());
  await t.rejects(waitForRedis(redis, 300), { code: 'UX_ERR_REDIS_UNAVAILABLE' });
});

t.test('reconnect backoff grows exponentially and stays capped', async (t) => {
  const delays = Array.from({ length: 30 }, (_, i) => defaultReconnectBackoff(i + 1));
  t.ok(delays.every((d) => Number.isInteger(d) && d >= 50 && d < 2100), 'between 50 ms and the 2 s cap plus jitter');
  t.ok((delays[0] ?? 0) < 150 && (delays[29] ?? 0) >= 2000, 'starts small, ends at the cap');
});
