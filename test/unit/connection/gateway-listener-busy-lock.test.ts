// A connection actor preempted while it holds the shared unwelcomed table's lock must not turn
// students away: the upgrade waits for the lock and goes through (found as a 503 in the socket fuzzer under load).

import t, { type Test } from 'tap';
import { connect as tcpConnect } from 'node:net';
import WebSocket from 'ws';
import { GatewayListener } from '../../../actors/connection/gateway-listener.js';
import { createConnectionCount } from '../../../actors/connection/connection-count.js';
import { createAddressTable } from '../../../actors/connection/address-table.js';
import { createUnwelcomedMemory } from '../../../actors/connection/unwelcomed-sockets.js';
import type { ConnectionLimits } from '../../../actors/connection/protocol.js';
import { freePort } from '../../helpers/free-port.js';

const LIMITS: ConnectionLimits = {
  helloTimeoutMs: 5_000,
  maxFrameBytes: 4096,
  maxValueBytes: 2048,
  maxConnections: 100,
  maxConnectionsPerAddress: 0,
  maxUnwelcomed: 100,
  maxUnwelcomedPerAddress: 2,
  pingIntervalMs: 30_000,
  rateLimit: { eventsPerSecond: 10, burst: 20, abuseStrikes: 5 },
  tls: null,
};
/** Word 0 of the address table is its lock: 0 free, else the holder's id (actor index + 1). */
const LOCK_WORD = 0;

async function startListener(t: Test) {
  const unwelcomed = createUnwelcomedMemory(2, LIMITS.maxUnwelcomed);
  const accepted: WebSocket[] = [];
  const listener = new GatewayListener(LIMITS, createConnectionCount(2), createAddressTable(8), unwelcomed, 0, {
    accepted: (ws) => accepted.push(ws as unknown as WebSocket),
  });
  const port = await freePort();
  await listener.listen({ kind: 'reusePort', host: '127.0.0.1', port });
  t.teardown(() => {
    for (const ws of accepted) ws.terminate();
    listener.stopAccepting();
  });
  return { listener, port, lock: new Int32Array(unwelcomed.addresses), accepted };
}

/** Opens a WebSocket; resolves with 'open' or with the refusal's status and body. */
function connect(port: number): Promise<{ opened: boolean; status?: number; body?: string; socket?: WebSocket }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    socket.once('open', () => resolve({ opened: true, socket }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ opened: false, status: response.statusCode, body }));
    });
    socket.once('error', () => undefined);
  });
}

t.test('an upgrade waits out a lock another actor holds, and is not refused', async (t) => {
  const { port, lock, listener } = await startListener(t);
  Atomics.store(lock, LOCK_WORD, 2); // actor 1 "holds" the lock, as if preempted inside its critical section
  const attempt = connect(port);
  await new Promise((resolve) => setTimeout(resolve, 300)); // well past the 20 ms one take waits
  Atomics.store(lock, LOCK_WORD, 0);
  Atomics.notify(lock, LOCK_WORD);
  const outcome = await attempt;
  t.equal(outcome.opened, true, `the student got in once the lock was free (${outcome.status ?? ''} ${outcome.body ?? ''})`);
  t.equal(listener.rejectedUpgrades, 0, 'nothing was counted as refused');
  outcome.socket?.terminate();
});

t.test('a full cap still refuses, with a body that names the setting', async (t) => {
  const { port, listener } = await startListener(t);
  const first = await connect(port);
  const second = await connect(port);
  const third = await connect(port);
  t.equal(first.opened && second.opened, true, 'two sockets fit under gateway.maxUnwelcomedPerAddress 2');
  t.equal(third.status, 503, 'the third is refused');
  t.match(third.body, /gateway\.maxUnwelcomedPerAddress/, 'and told which setting refused it');
  t.equal(listener.rejectedUpgrades, 1);
  first.socket?.terminate();
  second.socket?.terminate();
});

t.test('a client that resets its socket while the upgrade waits for the lock harms nothing', async (t) => {
  const { port, lock, listener } = await startListener(t);
  Atomics.store(lock, LOCK_WORD, 2);
  const raw = tcpConnect({ host: '127.0.0.1', port });
  await new Promise((resolve) => raw.once('connect', resolve));
  raw.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await new Promise((resolve) => setTimeout(resolve, 100));
  raw.resetAndDestroy(); // an RST while the upgrade waits: without an error listener this was an uncaught error
  await new Promise((resolve) => setTimeout(resolve, 100));
  Atomics.store(lock, LOCK_WORD, 0);
  Atomics.notify(lock, LOCK_WORD);
  const next = await connect(port);
  t.equal(next.opened, true, 'the next student gets in');
  t.equal(listener.rejectedUpgrades, 0);
  next.socket?.terminate();
});
