// A Redis Cluster primary killed (SIGKILL) in the middle of ingest, with a replica per primary: once
// the replica is promoted, every acked event is in Redis, once and in order, and the events that
// were in flight are resent by the writers and stored. The promoted replica already has the library.

import t from 'tap';
import { StudentClient } from '../../src/client/student-client.js';
import type { OutboxEvent } from '../../src/client/types.js';
import { bucketKeys } from '../../src/redis/bucket-keys.js';
import { fetchLibraryVersion, LIBRARY_VERSION } from '../../src/redis/function-library.js';
import { libraryClient, startTestCluster, type TestClusterNode } from '../helpers/redis-cluster.js';
import { storedEventsByStudent } from '../helpers/stored-events.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

const STUDENTS = 60;
const ANSWERS_PER_STUDENT = 30;
const BUCKETS = 16;
const EXAM = 'CL-FAIL';
const WAIT_REPLICAS = Number(process.env.UX_TEST_WAIT_REPLICAS ?? '1');

const cluster = await startTestCluster(t, { primaries: 3, replicas: 1 });

/** The replica that took over `victim`'s slots, once the cluster is healthy again. */
async function promotedFor(victim: TestClusterNode, key: string): Promise<TestClusterNode> {
  await cluster.waitHealthy();
  const owner = await cluster.primaryOf(key);
  if (owner === victim) throw new Error('the killed primary still owns its slots');
  return owner;
}

t.test('a replica promoted after its primary is killed already runs the function library', async (t) => {
  await libraryClient(cluster, 'library');
  // FUNCTION LOAD reaches replicas asynchronously, like any write: wait until every node runs it,
  // so that the kill below tests the promotion, not a race with replication.
  for (const node of cluster.nodes) {
    while ((await fetchLibraryVersion(cluster.nodeClient(node))) !== LIBRARY_VERSION) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const key = bucketKeys.seq('LIB', 0);
  const victim = await cluster.primaryOf(key);
  await victim.kill();
  const promoted = await promotedFor(victim, key);
  // Asked straight on the node, with nothing loaded since: it came through replication.
  t.equal(await fetchLibraryVersion(cluster.nodeClient(promoted)), LIBRARY_VERSION);
  // Back as a replica of the promoted node, so every shard has a replica again for the next test.
  await victim.restart();
  await cluster.waitHealthy();
  t.equal((await cluster.nodeClient(victim).role())[0], 'slave', 'the old primary rejoined as a replica');
});

t.test(`a primary killed mid-ingest (waitReplicas ${WAIT_REPLICAS}) loses no acked event`, async (t) => {
  const ux = await startUntradexInProcess(t, {
    redis: { embedded: false, cluster: cluster.seeds, buckets: BUCKETS, waitReplicas: WAIT_REPLICAS },
    gateway: { connectionActors: 2 },
    writers: { count: 2 },
  });
  const key = bucketKeys.log(EXAM, 0);
  const victim = await cluster.primaryOf(key);
  const students = Array.from({ length: STUDENTS }, (_, index) => `S${index}`);
  const tokens = await ux.tokens(EXAM, students);
  const acked = new Map<string, OutboxEvent[]>();
  let ackedTotal = 0;
  let killed: Promise<void> | null = null;
  const total = STUDENTS * (ANSWERS_PER_STUDENT + 2);

  await Promise.all(
    students.map(async (student) => {
      const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]!, reconnect: { baseMs: 50, maxMs: 500 } });
      t.teardown(() => client.close());
      const mine: OutboxEvent[] = [];
      acked.set(student, mine);
      client.on('acked', (event) => {
        mine.push(event);
        ackedTotal += 1;
        // Kill once a third of the exam is acked: the rest is sent during and after the failover.
        // Once the replica has taken over, the old primary comes back as its replica, as an
        // operator would bring it back: with waitReplicas 1 the shard's writes wait for that.
        if (killed === null && ackedTotal >= total / 3) killed = victim.kill().then(() => promotedFor(victim, key)).then(() => victim.restart());
      });
      client.on('nacked', (event, code) => t.fail(`unexpected nack ${code} for ${student} seq ${event.seq}`));
      await client.connect();
      client.open();
      for (let index = 0; index < ANSWERS_PER_STUDENT; index += 1) {
        client.answer(`Q${index % 5}`, `v${index}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      client.submit();
      await client.flushed();
      await client.close();
    }),
  );
  t.ok(killed !== null, 'the primary was killed during ingest');
  await killed;
  const promoted = await cluster.primaryOf(key);
  t.not(promoted.port, victim.port, `the replica on ${promoted.port} took over from ${victim.port}`);
  const writers = await Promise.all(ux.app.root.writerActors.map((writer) => writer.api.status()));
  t.comment(`writer batches failed and resent: ${writers.map((w) => w.failedBatches).join(', ')}`);

  const stored = await storedEventsByStudent(cluster.client('check'), EXAM, BUCKETS);
  let lost = 0;
  let twice = 0;
  let storedTotal = 0;
  for (const student of students) {
    const seqs = (stored.get(student) ?? []).map((event) => event.seq);
    storedTotal += seqs.length;
    const have = new Set(seqs);
    twice += seqs.length - have.size;
    lost += acked.get(student)!.filter((event) => !have.has(event.seq)).length;
    const ordered = seqs.every((seq, index) => index === 0 || seq > seqs[index - 1]!);
    if (!ordered) t.fail(`${student}: stored out of seq order`);
  }
  t.equal(lost, 0, 'every acked event is in Redis after the failover');
  t.equal(twice, 0, 'no event is stored twice');
  t.equal(ackedTotal, total, 'every event was acked in the end');
  t.equal(storedTotal, total, 'and stored once');
});
