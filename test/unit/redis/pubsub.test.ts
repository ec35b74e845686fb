// ux_hello announces every new session so older ones everywhere step down; ux_close announces
// the exam close once per bucket, and a repeated close is silent and changes nothing.
import { setTimeout } from 'node:timers/promises';
import t from 'tap';
import type { Redis } from 'ioredis';
import { CHANNEL_CLOSED, CHANNEL_SESSIONS } from '../../../src/redis/bucket-keys.js';
import { storeFixture } from './store-fixture.js';

/** Collects messages of one channel; `until(marker)` resolves once `marker` has arrived. */
async function listen(subscriber: Redis, channel: string): Promise<{ messages: string[]; until(marker: string): Promise<void> }> {
  const messages: string[] = [];
  const waiters: Array<{ marker: string; resolve: () => void }> = [];
  subscriber.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    messages.push(message);
    for (const w of waiters.filter((w) => w.marker === message)) w.resolve();
  });
  await subscriber.subscribe(channel);
  return {
    messages,
    until: (marker) =>
      messages.includes(marker) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ marker, resolve })),
  };
}

t.test('hello claims a new epoch and publishes exam, student and epoch when it replaces one', async (t) => {
  const { store, server, redis } = await storeFixture(t);
  const sessions = await listen(server.client('sub'), CHANNEL_SESSIONS);
  const first = await store.claimSession('E1', 'S1');
  t.same(first, { stale: false, epoch: 1, lastSeq: 0, submitted: false, closed: false });
  const second = await store.claimSession('E1', 'S1');
  t.equal(second.epoch, 2);
  const other = await store.claimSession('E2', 'S1');
  t.equal(other.epoch, 1, 'epochs are per exam and student');
  const third = await store.claimSession('E2', 'S1');
  t.equal(third.epoch, 2);
  // A marker published after the last hello arrives after anything the hellos published.
  await redis.publish(CHANNEL_SESSIONS, 'MARKER');
  await sessions.until('MARKER');
  t.same(sessions.messages, ['E1\nS1\n2', 'E2\nS1\n2', 'MARKER'], 'a first session (epoch 1) replaces nothing and is not announced');
});

t.test('close closes every bucket, publishes once per bucket, and is idempotent', async (t) => {
  const buckets = 5;
  const { store, server, redis } = await storeFixture(t, buckets);
  const closed = await listen(server.client('sub'), CHANNEL_CLOSED);
  await store.closeExam('E1');
  t.same(await store.examCounts('E1'), { students: 0, events: 0, closedBuckets: buckets, submitted: 0, connected: 0 });
  t.same(await store.examCounts('E2'), { students: 0, events: 0, closedBuckets: 0, submitted: 0, connected: 0 }, 'other exams stay open');
  await store.closeExam('E1');
  t.same(await store.examCounts('E1'), { students: 0, events: 0, closedBuckets: buckets, submitted: 0, connected: 0 });
  // A marker published after the second close arrives after anything that close published.
  await redis.publish(CHANNEL_CLOSED, 'MARKER');
  await closed.until('MARKER');
  t.same(closed.messages, [...new Array<string>(buckets).fill('E1'), 'MARKER']);
  t.equal((await store.claimSession('E1', 'S1')).closed, true, 'hello reports the close');
});

t.test('subscriber connections receive without extra setup after the publisher restarts', async (t) => {
  const { store, server } = await storeFixture(t);
  const sub = server.client('sub');
  const sessions = await listen(sub, CHANNEL_SESSIONS);
  await server.restart();
  // The subscriber reconnects and resubscribes by itself (autoResubscribe): wait until Redis
  // counts its subscription again.
  const probe = server.client('probe');
  for (;;) {
    const [, count] = (await probe.pubsub('NUMSUB', CHANNEL_SESSIONS)) as [string, number];
    if (count >= 1) break;
    await setTimeout(20);
  }
  await store.claimSession('E1', 'S9');
  await store.claimSession('E1', 'S9');
  await sessions.until('E1\nS9\n2');
  t.ok(sessions.messages.includes('E1\nS9\n2'));
});
