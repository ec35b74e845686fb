// Regression (issue 11 item 3): a student offline for a long time comes back with a backlog far
// above the rate limit's burst; the client's send window and paced resends drain it over one
// connection with no close 4429. Before, the backlog was closed with 4429 and drained a burst per reconnect.

import t from 'tap';
import { ExamClient, MemoryDevice } from '../../../src/client/node-exam-client.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

const BACKLOG = 2_000;
const BUCKETS = 2;
// A burst below the client's widest window: its first flight alone meets the limit, however fast or
// slow the machine is, so the push-back below is certain (with a burst of 100 and a window of 16 a
// loaded machine drained below 500/s and the limiter never spoke).
const RATE = { eventsPerSecond: 500, burst: 20, abuseStrikes: 5 };

t.test(`a ${BACKLOG}-event backlog drains over one connection, no 4429`, async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: BUCKETS }, gateway: { connectionActors: 1, rateLimit: RATE } });
  const { B1: token } = await ux.tokens('BACKLOG', ['B1']);
  const client = new ExamClient({ url: ux.gatewayUrl, token: token!, device: new MemoryDevice(), window: 64 });
  t.teardown(() => client.close());
  // Offline: every answer is kept before the client ever connects.
  for (let index = 1; index <= BACKLOG; index++) await client.answer(`Q${index % 40}`, `v${index}`);
  t.equal(client.pending.length, BACKLOG, 'the backlog is kept on the device');

  const disconnects: number[] = [];
  const refusals: string[] = [];
  client.addEventListener('disconnect', (event) => disconnects.push((event as CustomEvent<{ code: number }>).detail.code));
  client.addEventListener('err', (event) => refusals.push((event as CustomEvent<{ code: string }>).detail.code));
  client.start();
  await client.flushed();

  t.same(disconnects, [], 'one connection, never closed (no 4429)');
  t.ok(refusals.length > 0 && refusals.every((code) => code === 'rate_limited'), `the rate limit did push back (${refusals.length} err rate_limited)`);
  const stored = (await storedEventsByStudent(ux.redis(), 'BACKLOG', BUCKETS)).get('B1') ?? [];
  t.equal(stored.length, BACKLOG, 'every kept event is stored');
  t.same(stored.map((event) => event.value), Array.from({ length: BACKLOG }, (_, i) => `v${i + 1}`), 'exactly once each, in the order the student made them');
  t.same(stored.map((event) => event.seq), Array.from({ length: BACKLOG }, (_, i) => i + 1), 'seqs assigned at the first welcome, 1 to N');
});
