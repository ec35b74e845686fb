// Regression: an event refused with `err rate_limited` must never be covered by the cumulative
// ack of a later seq (its resend would then look like a duplicate and never be stored).

import t from 'tap';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { helloRaw } from '../../helpers/raw-student.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

t.test('after a rate-limited seq, later seqs wait until it is resent', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 2 }, gateway: { connectionActors: 1, rateLimit: { eventsPerSecond: 2, burst: 2, abuseStrikes: 50 } } });
  const { R1: token } = await ux.tokens('RL', ['R1']);
  const { student } = await helloRaw(ux.gatewayUrl, token!);
  for (const seq of [1, 2, 3]) student.send({ t: 'ev', seq, k: 'answer', q: 'Q1', v: `v${seq}` });
  await student.next((frame) => frame.t === 'ack' && frame.seq === 2);
  const refusal = await student.next((frame) => frame.t === 'err' && frame.code === 'rate_limited');
  t.ok(refusal, 'seq 3 was refused past the burst');
  // Once the limiter has a token again, seq 4 alone would pass it: it must still wait for seq 3.
  await new Promise((resolve) => setTimeout(resolve, 700));
  student.send({ t: 'ev', seq: 4, k: 'answer', q: 'Q1', v: 'v4' });
  await student.next((frame) => frame.t === 'err' && frame.code === 'rate_limited' && frame !== refusal);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const highestAck = Math.max(...student.frames.filter((frame) => frame.t === 'ack').map((frame) => frame.seq as number));
  t.equal(highestAck, 2, 'no ack covers the refused seq 3, nor seq 4 behind it');

  await new Promise((resolve) => setTimeout(resolve, 1_200));
  student.send({ t: 'ev', seq: 3, k: 'answer', q: 'Q1', v: 'v3' });
  student.send({ t: 'ev', seq: 4, k: 'answer', q: 'Q1', v: 'v4' });
  await student.next((frame) => frame.t === 'ack' && frame.seq === 4);
  const stored = (await storedEventsByStudent(ux.redis(), 'RL', 2)).get('R1') ?? [];
  t.same(stored.map((event) => event.value), ['v1', 'v2', 'v3', 'v4'], 'every acked event is stored, in order');
  student.close();
});
