// Classic pub/sub on Redis Cluster: a PUBLISH from ux_hello or ux_close running on one shard reaches
// subscribers on every node (the cluster bus forwards it), so session replacement and the exam
// close reach every connection actor whichever node its SessionWatch listens on.

import { pino } from 'pino';
import t from 'tap';
import { SessionWatch } from '../../actors/connection/session-watch.js';
import { bucketKeys, bucketOf, CHANNEL_CLOSED, CHANNEL_SESSIONS } from '../../src/redis/bucket-keys.js';
import { BucketStore } from '../../src/redis/bucket-store.js';
import { libraryClient, startTestCluster, type TestClusterNode } from '../helpers/redis-cluster.js';

const BUCKETS = 16;
const EXAM = 'PS-1';

const cluster = await startTestCluster(t, { primaries: 3 });
const redis = await libraryClient(cluster, 'store');
const store = new BucketStore(redis, BUCKETS);

/** For each primary, a student whose bucket that primary holds. */
async function studentOnEachPrimary(exam: string): Promise<Map<number, string>> {
  const byPort = new Map<number, string>();
  for (let i = 0; byPort.size < cluster.nodes.length; i += 1) {
    const student = `S${i}`;
    const owner = await cluster.primaryOf(bucketKeys.seq(exam, bucketOf(exam, student, BUCKETS)));
    if (!byPort.has(owner.port)) byPort.set(owner.port, student);
  }
  return byPort;
}

class Inbox {
  readonly messages: string[] = [];
  private waiters: Array<() => void> = [];
  push(message: string): void {
    this.messages.push(message);
    for (const wake of this.waiters.splice(0)) wake();
  }
  async waitFor(count: number): Promise<void> {
    while (this.messages.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

t.test('a subscriber on any node hears ux_hello and ux_close run on every shard', async (t) => {
  const students = await studentOnEachPrimary(EXAM);
  const inboxes = new Map<TestClusterNode, Inbox>();
  for (const node of cluster.nodes) {
    const subscriber = cluster.nodeClient(node);
    const inbox = new Inbox();
    subscriber.on('message', (channel: string, message: string) => inbox.push(`${channel} ${message}`));
    await subscriber.subscribe(CHANNEL_SESSIONS, CHANNEL_CLOSED);
    inboxes.set(node, inbox);
  }
  // The second hello of each student replaces the first and is announced (a first one is not).
  for (const student of students.values()) {
    await store.claimSession(EXAM, student);
    await store.claimSession(EXAM, student);
  }
  for (const [node, inbox] of inboxes) {
    await inbox.waitFor(students.size);
    t.same(
      [...inbox.messages].sort(),
      [...students.values()].map((student) => `${CHANNEL_SESSIONS} ${EXAM}\n${student}\n2`).sort(),
      `the subscriber on ${node.port} heard the hello of a student on every primary`,
    );
  }
  await store.closeExam(EXAM);
  for (const [node, inbox] of inboxes) {
    await inbox.waitFor(students.size + BUCKETS);
    t.equal(inbox.messages.filter((message) => message === `${CHANNEL_CLOSED} ${EXAM}`).length, BUCKETS, `${node.port} heard every bucket close`);
  }
});

t.test('SessionWatch on a Cluster client hears sessions and closes from every shard', async (t) => {
  const exam = 'PS-2';
  const students = await studentOnEachPrimary(exam);
  const claimed = new Inbox();
  const closed = new Inbox();
  const watch = new SessionWatch(cluster.target, 'test-watch', {
    sessionClaimed: (e, student, epoch) => claimed.push(`${e}/${student}/${epoch}`),
    examClosed: (e) => closed.push(e),
    resubscribed: () => undefined,
  }, pino({ level: 'silent' }));
  t.teardown(() => watch.stop());
  await watch.start();
  for (const student of students.values()) {
    await store.claimSession(exam, student);
    await store.claimSession(exam, student);
  }
  await claimed.waitFor(students.size);
  t.same([...claimed.messages].sort(), [...students.values()].map((student) => `${exam}/${student}/2`).sort(), 'replacing hellos are heard; first ones are not announced');
  await store.closeExam(exam);
  await closed.waitFor(BUCKETS);
  t.ok(closed.messages.every((e) => e === exam));
});
