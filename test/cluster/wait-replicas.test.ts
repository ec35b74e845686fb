// redis.waitReplicas on a Redis Cluster with a replica per primary: a write resolves only once the
// bucket's replica has it; with the replica hung it rejects (a resend that finds only Duplicates
// too) and resolves once the replica catches up; the exam close waits the same way. And the gap
// it closes: a write acked with waitReplicas 0 is lost when its primary dies before replicating.

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

// Issue 10 item 5: the lastSeq a welcome carries is a promise too (the client drops every kept
// event at or below it), so the claim that reads it must be replica-confirmed like an ack. The
// gateway's side of it is in wait-replicas-welcome.test.ts.
t.test('with waitReplicas 1 a session claim (the lastSeq a welcome carries) waits for the replica too', async (t) => {
  const store = await storeOn(1);
  replica.freeze();
  t.teardown(() => replica.thaw());
  await t.rejects(store.claimSession(EXAM, STUDENT), { code: 'UX_ERR_REDIS_UNAVAILABLE' }, 'a claim the replica has not confirmed is refused');
  replica.thaw();
  const claim = await store.claimSession(EXAM, STUDENT);
  t.equal(claim.lastSeq, 3, 'once the replica is back the claim resolves, with the confirmed lastSeq');
});

t.test('with waitReplicas 1 the exam close waits for the replicas too', async (t) => {
  const store = await storeOn(1);
  replica.freeze();
  t.teardown(() => replica.thaw());
  await t.rejects(store.closeExam(EXAM), { code: 'UX_ERR_REDIS_UNAVAILABLE' }, 'a close the replica has not confirmed is not reported done');
  await t.rejects(store.closeExam(EXAM), { code: 'UX_ERR_REDIS_UNAVAILABLE' }, 'closing again (nothing new written) still waits');
  replica.thaw();
  await store.closeExam(EXAM);
  t.equal(await onReplica.exists(bucketKeys.closed(EXAM, bucket)), 1, 'the replica holds the close');
});

// Last: it kills the bucket's primary. The replica is frozen and its link cut first, so the write
// reaches the primary alone, as with a primary that dies before its replication stream leaves
// the machine (power loss, a partition). SIGKILL of a process alone would not show it: the kernel
// still delivers what the dead process had written to the replica's socket.
t.test('a failover loses a write acked on the primary alone; with waitReplicas 1 that write is never acked', async (t) => {
  // A student of an exam that is still open, whose bucket lives on the same primary.
  let exam = '';
  let student = '';
  for (let i = 0; exam === ''; i += 1) {
    const candidate = `WR-LOSS-${i}`;
    if ((await cluster.primaryOf(bucketKeys.log(candidate, bucketOf(candidate, 'L1', BUCKETS)))) === primary) [exam, student] = [candidate, 'L1'];
  }
  const lossBucket = bucketOf(exam, student, BUCKETS);
  const key = bucketKeys.log(exam, lossBucket);
  const event = (seq: number): EventToWrite => ({ ...answer(seq), student });
  const notWaiting = await storeOn(0);
  const waiting = await storeOn(1);
  await waiting.claimSession(exam, student);
  t.same(await waiting.writeBatch(exam, lossBucket, [event(1)]), [WriteOutcome.Stored], 'seq 1 is on the replica');
  replica.freeze();
  t.teardown(() => replica.thaw());
  await cluster.nodeClient(primary).call('CLIENT', 'KILL', 'TYPE', 'replica');
  t.same(await notWaiting.writeBatch(exam, lossBucket, [event(2)]), [WriteOutcome.Stored], 'waitReplicas 0: seq 2 acked on the primary');
  await t.rejects(waiting.writeBatch(exam, lossBucket, [event(3)]), { code: 'UX_ERR_REDIS_UNAVAILABLE' }, 'waitReplicas 1: seq 3 not acked');
  await primary.kill();
  replica.thaw();
  await cluster.waitHealthy();
  t.equal((await cluster.primaryOf(key)).port, replica.port, 'the replica took over');
  const seqs = (await onReplica.xrange(key, '-', '+')).map(([, fields]) => Number(fields[fields.indexOf('seq') + 1]));
  t.same(seqs, [1], 'seq 2, acked with waitReplicas 0, is gone; seq 3 was never acked');
});

