// redis.waitReplicas covers the welcome (issue 10 item 5): while the bucket's replica cannot confirm,
// a hello is answered `err busy` and closed 1013 instead of being welcomed with a lastSeq that a
// failover could still take back; once the replica is back the student is welcomed.

import t from 'tap';
import { bucketKeys, bucketOf } from '../../src/redis/bucket-keys.js';
import { helloRaw } from '../helpers/raw-student.js';
import { startTestCluster } from '../helpers/redis-cluster.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

const BUCKETS = 4;
const EXAM = 'WRW-1';
const STUDENT = 'S1';

t.test('no welcome while the replica cannot confirm the claim; a welcome once it can', async (t) => {
  const cluster = await startTestCluster(t, { primaries: 3, replicas: 1 });
  // Started while every node is healthy: the start itself checks each node's durability settings.
  const ux = await startUntradexInProcess(t, {
    redis: { embedded: false, cluster: cluster.seeds, buckets: BUCKETS, waitReplicas: 1 },
    gateway: { connectionActors: 1 },
    writers: { count: 1 },
  });
  const tokens = await ux.tokens(EXAM, [STUDENT]);
  const first = await helloRaw(ux.gatewayUrl, tokens[STUDENT]!);
  t.match(first.welcome, { t: 'welcome', lastSeq: 0 });
  first.student.send({ t: 'ev', seq: 1, k: 'answer', q: 'Q1', v: 'A' });
  await first.student.next((frame) => frame.t === 'ack' && frame.seq === 1);
  first.student.close();
  await first.student.closed;

  const primary = await cluster.primaryOf(bucketKeys.seq(EXAM, bucketOf(EXAM, STUDENT, BUCKETS)));
  const [replica] = await cluster.replicasOf(primary);
  if (replica === undefined) throw new Error('the bucket\'s primary has no replica');
  replica.freeze();
  t.teardown(() => replica.thaw());
  const refused = await helloRaw(ux.gatewayUrl, tokens[STUDENT]!);
  t.match(refused.welcome, { t: 'err', code: 'busy' }, 'the hello is answered busy, not welcomed with an unconfirmed lastSeq');
  t.equal((await refused.student.closed).code, 1013, 'and the socket is closed with 1013 (try again later)');

  replica.thaw();
  const welcomed = await helloRaw(ux.gatewayUrl, tokens[STUDENT]!);
  t.match(welcomed.welcome, { t: 'welcome', lastSeq: 1 }, 'once the replica is back the student is welcomed with the confirmed lastSeq');
  welcomed.student.close();
  await welcomed.student.closed;
});
