// The student client against a scripted real ws server: first welcome and seqs, cumulative acks,
// nacks, duplicate resends and the `closed` frame.

import t from 'tap';
import type { OutboxEvent } from '../../../src/client/student-client.js';
import { encodeAck, encodeClosed, encodeNack } from '../../../src/protocol/server-frame.js';
import { setup, when } from './fake-untradex.js';

t.test('connect resolves on the welcome; seqs start above lastSeq; events before it throw', async (t) => {
  const { server, client } = await setup(t, { lastSeq: 41 });
  t.throws(() => client.open(), { code: 'UX_ERR_CLIENT', reason: 'not_welcomed' });
  const info = await client.connect();
  t.match(info, { exam: 'E1', student: 'S1', lastSeq: 41, state: 'open' });
  t.equal(client.status, 'ready');
  const conn = await server.connection(0);
  t.same(conn.frames[0], { type: 'hello', token: 'tok-1', resume: false });

  t.equal(client.open(1764400000000), 42);
  t.equal(client.answer('Q7', 'B', null), 43);
  t.equal(client.submit(), 44);
  await conn.waitForEvents(3);
  t.same(conn.events.slice(0, 2), [
    { type: 'event', seq: 42, kind: 'open', question: null, value: null, clientTs: 1764400000000 },
    { type: 'event', seq: 43, kind: 'answer', question: 'Q7', value: 'B', clientTs: null },
  ]);
  const submit = conn.events[2];
  t.equal(submit?.kind, 'submit');
  t.type(submit?.clientTs, 'number', 'ts defaults to the client clock');
  t.equal(client.connect(), client.connect(), 'connect() is idempotent');
});

t.test('a cumulative ack settles every event up to its seq, in order, once', async (t) => {
  const { server, client } = await setup(t);
  await client.connect();
  const acked: OutboxEvent[] = [];
  client.on('acked', (e) => acked.push(e));
  for (let i = 0; i < 5; i++) client.answer(`Q${i}`, String(i));
  const conn = await server.connection(0);
  await conn.waitForEvents(5);

  conn.send(encodeAck(3));
  await when(() => acked.length === 3, [client, 'acked']);
  t.same(acked.map((e) => e.seq), [1, 2, 3]);
  t.equal(client.pendingCount, 2);

  conn.send(encodeAck(2)); // stale: already covered
  conn.send(encodeAck(5));
  await client.flushed();
  t.same(acked.map((e) => e.seq), [1, 2, 3, 4, 5]);
  t.equal(client.stats.acked, 5);
  for (const e of acked) {
    t.type(e.firstSentAt, 'number');
    t.ok((e.settledAt ?? -1) >= (e.firstSentAt ?? Infinity), `seq ${e.seq}: settled after sent`);
    t.equal(e.sends, 1);
  }
});

t.test('a nack drops exactly that event', async (t) => {
  const { server, client } = await setup(t);
  await client.connect();
  const nacked: Array<[number, string]> = [];
  client.on('nacked', (e, code) => nacked.push([e.seq, code]));
  client.answer('Q1', 'A');
  client.answer('Q2', 'B');
  client.answer('Q3', 'C');
  const conn = await server.connection(0);
  await conn.waitForEvents(3);
  conn.send(encodeNack(2, 'bad_event'));
  conn.send(encodeNack(99, 'bad_event')); // not held: ignored
  await when(() => nacked.length === 1, [client, 'nacked']);
  t.same(nacked, [[2, 'bad_event']]);
  t.equal(client.pendingCount, 2);
  conn.send(encodeAck(3));
  await client.flushed();
  t.same(client.stats, { acked: 2, nacked: 1, reconnects: 0, errors: 0 });
});

t.test('resendUnacked sends every unsettled event again, in order', async (t) => {
  const { server, client } = await setup(t, { lastSeq: 10 });
  await client.connect();
  client.open();
  client.answer('Q1', 'A');
  const conn = await server.connection(0);
  await conn.waitForEvents(2);
  client.resendUnacked();
  await conn.waitForEvents(4);
  t.same(conn.seqs, [11, 12, 11, 12]);
  conn.send(encodeAck(12));
  await client.flushed();
  t.equal(client.stats.acked, 2, 'each event is acked once however often it was sent');
});

t.test('the closed frame is reported, and the exam_closed nacks that follow', async (t) => {
  const { server, client } = await setup(t);
  await client.connect();
  const conn = await server.connection(0);
  let closedEvents = 0;
  client.on('closed', () => closedEvents++);
  conn.send(encodeClosed());
  await when(() => closedEvents === 1, [client, 'closed']);
  const seq = client.answer('Q1', 'late');
  await conn.waitForEvents(1);
  const nacked = new Promise<string>((resolve) => client.once('nacked', (_e, code) => resolve(code)));
  conn.send(encodeNack(seq, 'exam_closed'));
  t.equal(await nacked, 'exam_closed');
  await client.flushed();
  t.equal(client.status, 'ready', 'the connection stays up');
});

t.test('frames that are not of the protocol are counted and ignored', async (t) => {
  const { server, client } = await setup(t);
  await client.connect();
  const conn = await server.connection(0);
  client.answer('Q1', 'A');
  await conn.waitForEvents(1);
  conn.send('{"t":"ack","seq":"1"}');
  conn.send('not json');
  conn.send(encodeAck(1));
  await client.flushed();
  t.equal(client.stats.errors, 2);
  t.equal(client.stats.acked, 1);
});
