// A primary that joins the cluster after start and takes slots (added with CLUSTER MEET and SETSLOT,
// which copy no functions) has no function library; ClusterLibraryGuard notices it on the next slot
// refresh and loads it, so the buckets that moved there take writes.

import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { WriteOutcome } from '../../src/events/answer-event.js';
import { bucketKeys, bucketOf } from '../../src/redis/bucket-keys.js';
import { BucketStore } from '../../src/redis/bucket-store.js';
import { ClusterLibraryGuard } from '../../src/redis/cluster-library-guard.js';
import { fetchLibraryVersion, LIBRARY_VERSION } from '../../src/redis/function-library.js';
import { libraryClient, startTestCluster } from '../helpers/redis-cluster.js';

const BUCKETS = 16;

t.test('a primary that takes slots after start gets the library, and its buckets take writes', async (t) => {
  const cluster = await startTestCluster(t, { primaries: 3 });
  const redis = await libraryClient(cluster, 'root');
  const target = { exam: 'LG-1', bucket: 3 };
  const added = await cluster.addPrimaryFor(bucketKeys.seq(target.exam, target.bucket));
  t.equal(await fetchLibraryVersion(cluster.nodeClient(added)), null, 'the new primary starts without the library');
  const guard = new ClusterLibraryGuard(redis, pino({ level: 'silent' }));
  guard.start();
  t.teardown(() => guard.stop());

  // The guard acts on the client's next slot refresh (every 2 s) or on a MOVED to the new node.
  const onAdded = cluster.nodeClient(added);
  for (let attempt = 0; attempt < 100 && (await fetchLibraryVersion(onAdded)) !== LIBRARY_VERSION; attempt += 1) await sleep(100);
  await guard.settled();
  t.equal(await fetchLibraryVersion(onAdded), LIBRARY_VERSION, 'the guard loaded the library on the new primary');

  const store = new BucketStore(redis, BUCKETS);
  let student = '';
  for (let i = 0; student === ''; i += 1) if (bucketOf(target.exam, `S${i}`, BUCKETS) === target.bucket) student = `S${i}`;
  const { epoch } = await store.claimSession(target.exam, student);
  const outcomes = await store.writeBatch(target.exam, target.bucket, [
    { student, epoch, seq: 1, kind: 'open', question: null, value: null, clientTs: null, serverTs: Date.now() },
  ]);
  t.same(outcomes, [WriteOutcome.Stored], 'a bucket on the new primary takes writes');
});
