// The exam index behind GET /api/exams: a claimed session registers its exam (once per process),
// and listing it needs no scan of the keyspace.
import t from 'tap';
import { EXAM_INDEX_KEY } from '../../../src/redis/bucket-keys.js';
import { storeFixture } from './store-fixture.js';

t.test('a claimed session registers its exam; the list is sorted and deduplicated', async (t) => {
  const { store, redis } = await storeFixture(t, 4);
  t.same(await store.examIndex.list(), []);
  await store.claimSession('E-B', 'S1');
  await store.claimSession('E-A', 'S1');
  await store.claimSession('E-B', 'S2');
  t.same(await store.examIndex.list(), ['E-A', 'E-B']);
  await redis.sadd(EXAM_INDEX_KEY, 'not an id!');
  t.same(await store.examIndex.list(), ['E-A', 'E-B'], 'a member that is no exam id is skipped');
  const monitor = await redis.monitor();
  t.teardown(() => monitor.disconnect());
  const commands: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => commands.push(args[0]!.toLowerCase()));
  await store.claimSession('E-A', 'S3');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.ok(commands.includes('fcall'), 'the monitor saw the claim');
  t.notOk(commands.includes('sadd'), 'an exam already registered by this process is not registered again');
});
