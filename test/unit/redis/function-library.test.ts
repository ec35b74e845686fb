// Loading the library, detecting its version, and refusing replies of the wrong shape.
import t from 'tap';
import { BucketStore } from '../../../src/redis/bucket-store.js';
import { fetchLibraryVersion, LIBRARY_SOURCE, LIBRARY_VERSION, loadFunctionLibrary } from '../../../src/redis/function-library.js';
import { startTestRedis } from '../../helpers/redis-server.js';
import { answer } from './store-fixture.js';

t.test('load is idempotent and ux_version reports LIBRARY_VERSION', async (t) => {
  const server = await startTestRedis(t);
  const redis = server.client();
  t.equal(await fetchLibraryVersion(redis), null, 'nothing loaded yet');
  await loadFunctionLibrary(redis);
  await loadFunctionLibrary(redis);
  t.equal(await fetchLibraryVersion(redis), LIBRARY_VERSION);
  t.match(LIBRARY_SOURCE, /^#!lua name=untradex\n/);
});

t.test('the library survives a restart (it is in the AOF)', async (t) => {
  const server = await startTestRedis(t);
  await loadFunctionLibrary(server.client());
  await server.restart();
  t.equal(await fetchLibraryVersion(server.client()), LIBRARY_VERSION);
});

t.test('replies of the wrong shape are RedisScriptErrors, not bad data', async (t) => {
  const server = await startTestRedis(t);
  const redis = server.client();
  await redis.function(
    'LOAD',
    'REPLACE',
    [
      '#!lua name=untradex',
      "redis.register_function('ux_write', function(keys, args) return { 0 } end)",
      "redis.register_function('ux_hello', function(keys, args) return { 1, 2, 3, 4 } end)",
      "redis.register_function{ function_name = 'ux_counts', callback = function(keys, args) return 'x' end, flags = { 'no-writes' } }",
      "redis.register_function('ux_close', function(keys, args) return 7 end)",
      "redis.register_function{ function_name = 'ux_version', callback = function(keys, args) return 999 end, flags = { 'no-writes' } }",
    ].join('\n'),
  );
  const store = new BucketStore(redis, 2);
  await t.rejects(store.writeBatch('E1', 0, [answer('S1', 1, 1, 'Q1', 'a'), answer('S1', 1, 2, 'Q1', 'b')]), {
    code: 'UX_ERR_REDIS_SCRIPT',
  }, 'wrong length');
  await t.rejects(store.claimSession('E1', 'S1'), { code: 'UX_ERR_REDIS_SCRIPT' }, 'lastSeq not a string');
  await t.rejects(store.examCounts('E1'), { code: 'UX_ERR_REDIS_SCRIPT' });
  await t.rejects(store.closeExam('E1'), { code: 'UX_ERR_REDIS_SCRIPT' });
  t.equal(await fetchLibraryVersion(redis), 999);

  await redis.function('LOAD', 'REPLACE', "#!lua name=untradex\nredis.register_function('ux_write', function(keys, args) return { 9 } end)");
  await t.rejects(store.writeBatch('E1', 0, [answer('S1', 1, 1, 'Q1', 'a')]), { code: 'UX_ERR_REDIS_SCRIPT' }, 'unknown outcome');
  await redis.function('DELETE', 'untradex');
  await t.rejects(store.writeBatch('E1', 0, [answer('S1', 1, 1, 'Q1', 'a')]), { code: 'UX_ERR_REDIS_SCRIPT' }, 'no library');
});
