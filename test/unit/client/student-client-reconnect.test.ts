// The student client across lost connections: what a welcome's lastSeq settles, what is resent
// and in which order, seqs never reused, retries before the first welcome, reconnect off.

import t from 'tap';
import type { OutboxEvent } from '../../../src/client/student-client.js';
import { encodeAck } from '../../../src/protocol/server-frame.js';
import { setup, when } from './fake-untradex.js';

t.test('after a reconnect, events up to lastSeq are acked and the rest resent in order', async (t) => {
  const { server, client } = await setup(t);
  await client.connect();
  const acked: OutboxEvent[] = [];
  client.on('acked', (e) => acked.push(e));
  for (let i = 1; i <= 6; i++) client.answer(`Q${i}`, `v${i}`);
  const first = await server.connection(0);
  await first.waitForEvents(6);

  // The server made 1..3 durable but its acks were lost with the connection.
  server.onHello = (conn) => conn.welcome(3);
  client.dropConnection();
  t.equal(client.answer('Q7', 'queued while down'), 7, 'events can be queued while reconnecting');
  const second = await server.connection(1);
  await second.waitForEvents(4);
  t.same(second.seqs, [4, 5, 6, 7], 'only seqs above lastSeq, in seq order');
  t.same(second.events[0], { type: 'event', seq: 4, kind: 'answer', question: 'Q4', value: 'v4', clientTs: first.events[3]?.clientTs ?? -1 }, 'resent unchanged');
  t.same(acked.map((e) => e.seq), [1, 2, 3], 'the welcome settled 1..3');
  t.equal(client.stats.reconnects, 1);

  t.equal(client.answer('Q8', 'x'), 8, 'seqs are never reused');
  second.send(encodeAck(8));
  await client.flushed();
  t.same(acked.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.equal((acked[4]?.sends ?? 0), 2, 'a resent event counts both sends');
});

t.test('a welcome above every local seq settles all and moves nextSeq past it', async (t) => {
  const { server, client } = await setup(t, { lastSeq: 5 });
  await client.connect();
  client.open();
  client.answer('Q1', 'a');
  const first = await server.connection(0);
  await first.waitForEvents(2);
  // Another session of this student wrote up to 100 meanwhile.
  server.onHello = (conn) => conn.welcome(100);
  let disconnects = 0;
  client.on('disconnect', () => disconnects++);
  first.ws.terminate();
  await when(() => client.pendingCount === 0, [client, 'acked']);
  t.equal(disconnects, 1);
  t.equal(client.answer('Q2', 'b'), 101);
  const second = await server.connection(1);
  await second.waitForEvents(1);
  t.same(second.seqs, [101], 'nothing at or below lastSeq was resent');
});

t.test('a welcome never lowers nextSeq', async (t) => {
  const { server, client } = await setup(t, { lastSeq: 10 });
  await client.connect();
  client.open(); // 11
  const first = await server.connection(0);
  await first.waitForEvents(1);
  server.onHello = (conn) => conn.welcome(0); // a server that lost data: still never reuse a seq
  client.dropConnection();
  const second = await server.connection(1);
  await second.waitForEvents(1);
  t.same(second.seqs, [11]);
  t.equal(client.open(), 12);
});

t.test('connections lost before the first welcome are retried', async (t) => {
  const { server, client } = await setup(t);
  server.onHello = (conn, _token, index) => {
    if (index < 3) conn.ws.terminate();
    else conn.welcome(7);
  };
  const info = await client.connect();
  t.equal(info.lastSeq, 7);
  t.equal(server.connections.length, 4);
  t.equal(client.stats.reconnects, 3);
  t.equal(client.open(), 8);
});

t.test('server close codes other than 4401 / 4409 are retried', async (t) => {
  const { server, client } = await setup(t);
  await client.connect();
  const codes: number[] = [];
  client.on('disconnect', (code) => codes.push(code));
  (await server.connection(0)).ws.close(4400, 'violation');
  await server.connection(1);
  await when(() => client.status === 'ready', [client, 'welcome']);
  t.same(codes, [4400]);
});

t.test('with reconnect off, a lost connection stops the client', async (t) => {
  const { server, client } = await setup(t, { client: { reconnect: false } });
  await client.connect();
  client.open();
  const conn = await server.connection(0);
  await conn.waitForEvents(1);
  const flushed = client.flushed();
  conn.ws.terminate();
  await t.rejects(flushed, { code: 'UX_ERR_CLIENT', reason: 'disconnected' });
  t.equal(client.status, 'stopped');
  t.throws(() => client.open(), { code: 'UX_ERR_CLIENT', reason: 'disconnected' });
  t.equal(server.connections.length, 1);
});

t.test('with reconnect off, a refused first connection rejects connect()', async (t) => {
  const { server, client } = await setup(t, { client: { reconnect: false } });
  await server.close(); // nothing listens on the port any more
  await t.rejects(client.connect(), { code: 'UX_ERR_CLIENT', reason: 'disconnected' });
  t.ok(client.stats.errors >= 1, 'the socket error is counted');
});

t.test('close() closes cleanly, stops reconnecting and later calls fail with reason closed', async (t) => {
  const { server, client } = await setup(t);
  await client.connect();
  client.open();
  const flushed = client.flushed();
  await client.close();
  t.equal(client.status, 'stopped');
  await t.rejects(flushed, { code: 'UX_ERR_CLIENT', reason: 'closed' });
  await when(() => server.connections[0]?.closeCode !== null, [server.connections[0] ?? server, 'close']);
  t.equal(server.connections[0]?.closeCode, 1000);
  await t.rejects(client.connect(), { code: 'UX_ERR_CLIENT', reason: 'closed' }, 'connect() after close() rejects');
  t.throws(() => client.open(), { code: 'UX_ERR_CLIENT', reason: 'closed' });
  await t.resolves(client.close(), 'close() twice is fine');
  t.equal(server.connections.length, 1, 'no reconnect after close()');
});

t.test('connect() on a client closed before connecting rejects', async (t) => {
  const { client } = await setup(t);
  await client.close();
  await t.rejects(client.connect(), { code: 'UX_ERR_CLIENT', reason: 'closed' });
});

t.test('a welcome that races close() does not revive the client', async (t) => {
  const { server, client } = await setup(t);
  server.onHello = (conn) => setTimeout(() => conn.welcome(0), 20);
  const connected = client.connect();
  const conn = await server.connection(0);
  await when(() => conn.frames.length > 0, [conn, 'frame']);
  await client.close();
  await t.rejects(connected, { code: 'UX_ERR_CLIENT', reason: 'closed' });
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(client.status, 'stopped');
});

t.test('localAddress binds the client side of the socket', async (t) => {
  const { server, client } = await setup(t, { client: { localAddress: '127.0.0.2' } });
  await client.connect();
  t.equal((await server.connection(0)).remoteAddress, '127.0.0.2');
});
