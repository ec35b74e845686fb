// An answer the gateway would refuse by size is refused by the client's answer(), never kept: were
// it kept, the client would resend it after every 1009 close and nothing after it would be stored.

import t from 'tap';
import { StudentClientError } from '../../../src/errors.js';
import { ExamClient, MemoryDevice } from '../../../src/client/node-exam-client.js';
import { connectRaw } from '../../helpers/raw-student.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

t.test('values within maxValueBytes whose frame would pass maxFrameBytes are refused by the client, and the exam goes on', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 2 }, gateway: { connectionActors: 1 } });
  const { S1: token } = await ux.tokens('SIZE', ['S1']);

  // What the gateway does with such a frame (docs/PROTOCOL.md section 3, rule 8): close 1009.
  const quotes = '"'.repeat(2048);
  const raw = await connectRaw(ux.gatewayUrl);
  raw.send({ t: 'hello', token });
  await raw.next((frame) => frame.t === 'welcome');
  raw.send({ t: 'ev', seq: 1, k: 'answer', q: 'Q1', v: quotes });
  t.equal((await raw.closed).code, 1009, 'a 2048-byte value of quotes makes a frame the gateway closes with 1009');

  const client = new ExamClient({ url: ux.gatewayUrl, token: token!, device: new MemoryDevice() });
  t.teardown(() => client.close());
  client.start();
  await client.welcomed;
  await t.rejects(client.answer('Q1', quotes), StudentClientError, 'answer() refuses it');
  await t.rejects(client.answer('Q1', quotes), { reason: 'bad_event', message: /frame.*shorten it/ }, 'saying why and what to do');
  await t.rejects(client.answer('Q1', 'x'.repeat(2049)), { reason: 'bad_event', message: /2049 bytes.*at most 2048/ }, 'a value above maxValueBytes too');
  t.equal(client.pending.length, 0, 'nothing of them was kept');

  await client.answer('Q1', 'x'.repeat(2048));
  await client.answer('Q2', '"'.repeat(1000));
  await client.flushed();
  t.equal(client.status, 'online', 'the largest values that fit are acked, and the client stays online');
});
