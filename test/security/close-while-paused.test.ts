// Regression: a session closed while its socket was paused (a frame that arrived with the hello,
// while Redis granted the session) never read the client's close reply, so the close handshake
// hung until ws's 30 s close timeout and the socket kept its connection slot all that time.

import t from 'tap';
import { mintStudentToken } from '../../src/auth/student-token.js';
import { startUntradexInProcess } from '../helpers/untradex.js';
import { clientFrame, Opcode, RawWebSocket } from './raw-websocket.js';

const SECRET = 'close-while-paused-secret-0123456789';
/** Far below ws's 30 s close timeout: a close handshake that works ends in milliseconds. */
const HANDSHAKE_BOUND_MS = 5_000;

t.test('a violation sent in the same packet as the hello closes with 4400 and the close handshake completes', async (t) => {
  const ux = await startUntradexInProcess(t, { auth: { secret: SECRET }, redis: { buckets: 2 }, gateway: { connectionActors: 1 } });
  const port = Number(new URL(ux.gatewayUrl).port);
  const token = mintStudentToken(SECRET, { exam: 'CWP', student: 'S1', expiresAt: Math.floor(Date.now() / 1000) + 600 });
  const cases: Array<[string, string, number]> = [
    ['bad JSON', '{bad', 4400],
    ['a second hello', JSON.stringify({ t: 'hello', token }), 4400],
    ['an invalid seq', '{"t":"ev","seq":0,"k":"open"}', 4400],
  ];
  for (const [what, second, code] of cases) {
    const raw = await RawWebSocket.open(port);
    t.teardown(() => raw.destroy());
    // Both frames in one write: the server parses the second while the hello is being claimed.
    raw.write(Buffer.concat([clientFrame(Opcode.Text, JSON.stringify({ t: 'hello', token })), clientFrame(Opcode.Text, second)]));
    t.ok(await raw.until(() => raw.closeCode !== null, HANDSHAKE_BOUND_MS), `${what}: the server sent a close frame`);
    t.equal(raw.closeCode, code, `${what}: close code ${code}`);
    t.equal(raw.textFrames()[0]?.t, 'welcome', `${what}: after the welcome`);
    raw.write(clientFrame(Opcode.Close, Buffer.from([code >> 8, code & 0xff])));
    const ended = await Promise.race([raw.ended.then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, HANDSHAKE_BOUND_MS, false))]);
    t.ok(ended, `${what}: the server read the close reply and ended the TCP connection`);
  }
  const status = (await ux.api<{ connections: { total: number } }>('GET', '/api/status')).body;
  t.equal(status.connections.total, 0, 'no socket still holds a connection slot');
});
