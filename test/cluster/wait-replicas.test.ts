// redis.waitReplicas on a Redis Cluster with a replica per primary: a write resolves only once the
// bucket's replica has it; with the replica hung it rejects, also when a resend finds only
// Duplicates on a fresh connection (WAIT would otherwise have nothing to wait for), and it resolves
// once the replica catches up. With waitReplicas 0 the same write resolves on the primary alone.

import t from 'tap';
import { WriteOutcome } from '../../src/events/answer-event.js';
import { bucketKeys, bucketOf } from '../../src/redis/bucket-keys.js';
import { BucketStore, type EventToWrite } from '../../src/redis/bucket-store.js';
import { loadFunctionLibrary } from '../../src/redis/function-library.js';
import { waitForRedis } from '../../src/redis/redis-client.js';
import { startTestCluster } from '../helpers/redis-cluster.js';

const BUCKETS = 4;
const EXAM = 'WR-1';
const STUDENT = 'S1';
const bucket = bucketOf(EXAM, STUDENT, BUCKETS);

const cluster = await startTestCluster(t, { primaries: 3, replicas: 1 });
const setup = cluster.client('setup');
await waitForRedis(setup, 15_000);
await loadFunctionLibrary(setup);

async function storeOn(waitReplicas: number): Promise<BucketStore> {
  const client = cluster.client(`store-${waitReplicas}`);
  await waitForRedis(client, 15_000);
  return new BucketStore(client, BUCKETS, { waitReplicas });
}

function answer(seq: number): EventToWrite {
  return { student: STUDENT, epoch: 1, seq, kind: 'answer', question: 'Q1', value: `v${seq}`, clientTs: null, serverTs: 1764400000000 + seq };
}

const primary = await cluster.primaryOf(bucketKeys.log(EXAM, bucket));
const [replica] = await cluster.replicasOf(primary);
if (replica === undefined) throw new Error('the bucket\'s primary has no replica');
const onReplica = cluster.nodeClient(replica);
await onReplica.readonly();
const replicaLogLength = () => onReplica.xlen(bucketKeys.log(EXAM, bucket));

t.test('with waitReplicas 1 a write resolves once the replica has it', async (t) => {
  const store = await storeOn(1);
  await store.claimSession(EXAM, STUDENT);
  t.same(await store.writeBatch(EXAM, bucket, [answer(1)]), [WriteOutcome.Stored]);
  t.equal(await replicaLogLength(), 1, 'the replica holds the event as soon as the write resolves');
});

t.test('with the replica hung, writes reject until it catches up', async (t) => {
  const waiting = await storeOn(1);
  const notWaiting = await storeOn(0);
  replica.freeze();
  t.teardown(() => replica.thaw());
  t.same(await notWaiting.writeBatch(EXAM, bucket, [answer(2)]), [WriteOutcome.Stored], 'waitReplicas 0 acks on the primary alone');
  await t.rejects(waiting.writeBatch(EXAM, bucket, [answer(3)]), { code: 'UX_ERR_REDIS_UNAVAILABLE' }, 'waitReplicas 1 refuses to confirm');
  // The write is on the primary now. A resend on a fresh connection finds Duplicates only: it
  // must still wait for the replica, not count it as having what it never acknowledged.
  const fresh = await storeOn(1);
  await t.rejects(fresh.writeBatch(EXAM, bucket, [answer(3)]), { code: 'UX_ERR_REDIS_UNAVAILABLE' }, 'a resend of only Duplicates waits too');
  replica.thaw();
  t.same(await fresh.writeBatch(EXAM, bucket, [answer(3)]), [WriteOutcome.Duplicate], 'once the replica is back the resend is confirmed');
  t.equal(await replicaLogLength(), 3, 'and the replica holds every event');
});

t.test('with waitReplicas 1 the exam close waits for the replicas too', async (t) => {
  const store = await storeOn(1);
  replica.freeze();
  t.teardown(() => replica.thaw());
  await t.rejects(store.closeExam(EXAM), { code: 'UX_ERR_REDIS_UNAVAILABLE' }, 'a close the replica has not confirmed is not reported done');
  await t.rejects(store.closeExam(EXAM), { code: 'UX_ERR_REDIS_UNAVAILABLE' }, 'closing again (nothing new written) still waits');
  replica.thaw();
  await store.closeExam(EXAM);
  t.equal(await onReplica.hexists(bucketKeys.seq(EXAM, bucket), '!closed'), 1, 'the replica holds the close');
});
