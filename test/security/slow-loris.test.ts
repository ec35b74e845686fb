// Slow-loris: clients that open TCP and dribble the HTTP upgrade byte by byte, or send nothing,
// or dribble their hello after the upgrade, are cut off by a deadline tied to gateway.helloTimeoutMs,
// while a normal student still gets in.

import t from 'tap';
import { recordReliability } from '../helpers/reliability-record.js';
import { pollSettled } from '../helpers/poll.js';
import { helloRaw } from '../helpers/raw-student.js';
import { startUntradexInProcess } from '../helpers/untradex.js';
import { clientFrame, Opcode, RawWebSocket, upgradeRequest } from './raw-websocket.js';

const HELLO_TIMEOUT_MS = 1_000;
const DRIBBLE_EVERY_MS = 100;
const LORIS = 30;

/** Writes `bytes` one at a time until the server ends the connection; resolves with how many went out. */
async function dribble(raw: RawWebSocket, bytes: Buffer): Promise<number> {
  let ended = false;
  void raw.ended.then(() => (ended = true));
  for (let i = 0; i < bytes.length; i++) {
    if (ended || raw.socket.destroyed) return i;
    raw.write(bytes.subarray(i, i + 1));
    await new Promise((resolve) => setTimeout(resolve, DRIBBLE_EVERY_MS));
  }
  return bytes.length;
}

t.test('slow and silent handshakes are cut off; students still get in', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 2 }, gateway: { connectionActors: 2, helloTimeoutMs: HELLO_TIMEOUT_MS } });
  const port = Number(new URL(ux.gatewayUrl).port);
  const { S1: token } = await ux.tokens('LORIS', ['S1']);

  // The whole request would take ~20 s at this pace: far past any deadline tied to the hello timeout.
  const request = Buffer.from(upgradeRequest(`127.0.0.1:${port}`, '/ws', `X-Padding: ${'p'.repeat(40)}\r\n`));
  const loris = await Promise.all(Array.from({ length: LORIS }, (_, i) => RawWebSocket.connect(port, { localAddress: `127.0.0.${10 + (i % 5)}` })));
  const silent = await Promise.all(Array.from({ length: 5 }, () => RawWebSocket.connect(port)));
  t.teardown(() => [...loris, ...silent].forEach((raw) => raw.destroy()));
  const dribbled = loris.map((raw) => dribble(raw, request));

  // While they dribble, a real student connects and is served.
  const { student, welcome } = await helloRaw(ux.gatewayUrl, token!);
  t.equal(welcome.t, 'welcome', 'a student connects while slow-loris clients hold sockets');
  student.send({ t: 'ev', seq: 1, k: 'open' });
  t.match(await student.next((frame) => frame.t === 'ack'), { seq: 1 });

  const sent = await Promise.all(dribbled);
  // The handshake deadline has passed several times over: the student's session is untouched.
  student.send({ t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: 'still here' });
  t.match(await student.next((frame) => frame.t === 'ack' && frame.seq === 2), { seq: 2 }, 'an upgraded session outlives the handshake deadline');
  student.close();
  t.equal(sent.filter((n) => n < request.length).length, LORIS, `every dribbling client was cut off before its request ended (sent ${Math.min(...sent)}-${Math.max(...sent)} of ${request.length} bytes)`);
  t.same(loris.filter((raw) => raw.status === 101), [], 'none was upgraded');
  const silentOpen = await pollSettled('the silent connections to be closed', () => silent.filter((raw) => !raw.socket.closed).length, (open) => open === 0, { timeoutMs: 10_000 });
  t.equal(silentOpen, 0, 'silent connections were closed too');

  await student.closed;
  let total = -1;
  for (let attempt = 0; attempt < 50 && total !== 0; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    total = (await ux.api<{ connections: { total: number } }>('GET', '/api/status')).body.connections.total;
  }
  t.equal(total, 0, 'no place under the caps is held by any of them');
  recordReliability({
    kind: 'hostile',
    scenario: 'slow-loris handshakes',
    inputs: LORIS + 5,
    outcome: `cut off before the upgrade: ${LORIS + 5}`,
    harmed: 0,
    note: `HTTP headers deadline = gateway.helloTimeoutMs (${HELLO_TIMEOUT_MS} ms here); a student connected meanwhile`,
  });
});

t.test('a hello dribbled after the upgrade is cut off by the hello timeout (4408)', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 2 }, gateway: { connectionActors: 1, helloTimeoutMs: HELLO_TIMEOUT_MS } });
  const port = Number(new URL(ux.gatewayUrl).port);
  const { S1: token } = await ux.tokens('LORIS', ['S1']);
  const raw = await RawWebSocket.open(port);
  t.teardown(() => raw.destroy());
  // One frame whose bytes trickle in: ws waits for the rest, the hello timer does not.
  const frame = clientFrame(Opcode.Text, JSON.stringify({ t: 'hello', token }));
  const sent = await Promise.race([dribble(raw, frame), raw.until(() => raw.closeCode !== null, 60_000).then(() => -1)]);
  t.equal(raw.closeCode, 4408, 'closed with 4408');
  t.not(sent, frame.length, 'before the frame was complete');
});
