// A hello with `resume: true` (docs/PROTOCOL.md section 3): the `answers` frame comes right after the
// welcome and before any ack, with the last stored answer of every question and the submit state.

import t from 'tap';
import { connectRaw, helloRaw } from '../../helpers/raw-student.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

t.test('a resumed hello gets the stored answers before any ack; a plain hello gets none', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 4 }, gateway: { connectionActors: 1 } });
  const { S1: token } = await ux.tokens('RES', ['S1']);

  const first = await helloRaw(ux.gatewayUrl, token!);
  t.match(first.welcome, { t: 'welcome', lastSeq: 0 });
  first.student.send({ t: 'ev', seq: 1, k: 'open' });
  first.student.send({ t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: 'A' });
  first.student.send({ t: 'ev', seq: 3, k: 'answer', q: 'Q2', v: 'free text, with | and ,' });
  first.student.send({ t: 'ev', seq: 4, k: 'answer', q: 'Q1', v: 'B' });
  first.student.send({ t: 'ev', seq: 5, k: 'answer', q: 'Q3', v: '' });
  await first.student.next((frame) => frame.t === 'ack' && frame.seq === 5);
  first.student.close();
  await first.student.closed;

  // Another device, resuming: the answers frame, then the acks of its own events.
  const resumed = await connectRaw(ux.gatewayUrl);
  t.teardown(() => resumed.close());
  resumed.send({ t: 'hello', token, resume: true });
  resumed.send({ t: 'ev', seq: 6, k: 'submit' });
  await resumed.next((frame) => frame.t === 'ack' && frame.seq === 6);
  t.same(resumed.frames.slice(0, 3).map((frame) => frame.t), ['welcome', 'answers', 'ack'], 'welcome, then answers, then the first ack');
  t.same(resumed.frames[1], {
    t: 'answers',
    answers: { Q1: { v: 'B', seq: 4 }, Q2: { v: 'free text, with | and ,', seq: 3 }, Q3: { v: '', seq: 5 } },
    submitted: false,
  });
  resumed.close();
  await resumed.closed;

  const afterSubmit = await connectRaw(ux.gatewayUrl);
  t.teardown(() => afterSubmit.close());
  afterSubmit.send({ t: 'hello', token, resume: true });
  t.match(await afterSubmit.next((frame) => frame.t === 'answers'), { submitted: true }, 'a resume after the submit says so');
  afterSubmit.close();
  await afterSubmit.closed;

  // Without resume: a resent old seq is acked (a duplicate), and no answers frame came before it.
  const plain = await connectRaw(ux.gatewayUrl);
  t.teardown(() => plain.close());
  plain.send({ t: 'hello', token });
  plain.send({ t: 'ev', seq: 6, k: 'submit' });
  await plain.next((frame) => frame.t === 'ack' && frame.seq === 6);
  t.same(plain.frames.map((frame) => frame.t), ['welcome', 'ack'], 'no answers frame without resume');
});
