// The student client on connection-level trouble: busy and rate_limited resend, a replaced
// session stops for good, a refused token stops without retrying.

import t from 'tap';
import { CloseCode } from '../../../src/protocol/close-codes.js';
import { encodeAck, encodeErr } from '../../../src/protocol/server-frame.js';
import { setup, when } from './fake-untradex.js';

for (const code of ['busy', 'rate_limited'] as const) {
  t.test(`err ${code}: the unacked events are resent on the same connection`, async (t) => {
    const { server, client } = await setup(t);
    await client.connect();
    const errs: string[] = [];
    client.on('err', (c) => errs.push(c));
    client.answer('Q1', 'A');
    client.answer('Q2', 'B');
    const conn = await server.connection(0);
    await conn.waitForEvents(2);
    // Event 1 was refused; nothing was stored. Two errs in a row must coalesce into one resend.
    conn.send(encodeErr(code, 'slow down'));
    conn.send(encodeErr(code, 'slow down'));
    await conn.waitForEvents(4);
    t.same(conn.seqs.slice(0, 4), [1, 2, 1, 2], 'everything unacked went again, in order');
    t.same(errs, [code, code]);
    conn.send(encodeAck(2));
    await client.flushed();
    t.equal(server.connections.length, 1, 'no reconnect needed');
    t.equal(client.stats.errors, 2);
    t.equal(conn.seqs.length, 4, 'one resend for both errs');
  });
}

t.test('err replaced then close 4409: replaced is emitted once and the client stops', async (t) => {
  const { server, client } = await setup(t, { client: { reconnect: { baseMs: 1, maxMs: 2 } } });
  await client.connect();
  client.answer('Q1', 'A');
  const conn = await server.connection(0);
  await conn.waitForEvents(1);
  let replaced = 0;
  const disconnects: number[] = [];
  client.on('replaced', () => replaced++);
  client.on('disconnect', (code) => disconnects.push(code));
  const flushed = client.flushed();
  conn.send(encodeErr('replaced', 'another session'));
  conn.ws.close(CloseCode.Replaced, 'replaced');
  await t.rejects(flushed, { code: 'UX_ERR_CLIENT', reason: 'replaced' });
  await when(() => disconnects.length === 1, [client, 'disconnect']);
  t.equal(replaced, 1);
  t.equal(client.status, 'stopped');
  t.throws(() => client.answer('Q2', 'B'), { code: 'UX_ERR_CLIENT', reason: 'replaced' });
  // With a 2 ms backoff, a reconnect would have shown up long before this.
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(server.connections.length, 1, 'no reconnect');
  t.equal(client.stats.reconnects, 0);
});

t.test('close 4409 alone (no err frame) also means replaced', async (t) => {
  const { server, client } = await setup(t);
  await client.connect();
  let replaced = 0;
  client.on('replaced', () => replaced++);
  (await server.connection(0)).ws.close(CloseCode.Replaced, '');
  await when(() => client.status === 'stopped', [client, 'disconnect']);
  t.equal(replaced, 1);
  await t.rejects(client.connect(), { code: 'UX_ERR_CLIENT', reason: 'replaced' });
});

t.test('close 4401: connect() rejects, disconnect is emitted, no retry', async (t) => {
  const { server, client } = await setup(t, { client: { reconnect: { baseMs: 1, maxMs: 2 } } });
  server.onHello = (conn) => {
    conn.send(encodeErr('unauthorized', 'bad token'));
    conn.ws.close(CloseCode.BadToken, 'bad token');
  };
  const disconnects: number[] = [];
  const errs: string[] = [];
  client.on('disconnect', (code) => disconnects.push(code));
  client.on('err', (code) => errs.push(code));
  await t.rejects(client.connect(), { code: 'UX_ERR_CLIENT', reason: 'unauthorized' });
  // The err frame stops the client at once; the server's close follows it.
  await when(() => disconnects.length === 1, [client, 'disconnect']);
  t.same(disconnects, [4401]);
  t.same(errs, ['unauthorized']);
  t.equal(client.status, 'stopped');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(server.connections.length, 1, 'a bad token is not retried');
});

t.test('close 4401 after a welcome stops too', async (t) => {
  const { server, client } = await setup(t);
  await client.connect();
  (await server.connection(0)).ws.close(CloseCode.BadToken, 'expired');
  await when(() => client.status === 'stopped', [client, 'disconnect']);
  t.throws(() => client.open(), { code: 'UX_ERR_CLIENT', reason: 'unauthorized' });
});
