// Sockets that never say hello cannot lock students out (issue 10 item 2): one address opens far
// more sockets than its share and stays silent; it holds gateway.maxUnwelcomedPerAddress places,
// the rest get 503, and students from other addresses still connect, answer and are acked.

import t from 'tap';
import { WebSocket } from 'ws';
import { mintStudentToken } from '../../src/auth/student-token.js';
import { recordReliability } from '../helpers/reliability-record.js';
import { attemptUpgrade } from '../helpers/upgrade-attempt.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

const PER_ADDRESS = 40;
const UNWELCOMED = 200;
const FLOOD = 400;

/** Connects from `localAddress`, says hello, sends one answer; resolves with what came back. */
function student(url: string, localAddress: string, token: string): Promise<{ welcomed: boolean; acked: boolean; status: number; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
    let welcomed = false;
    ws.on('error', () => undefined);
    ws.once('unexpected-response', (_request, response) => resolve({ welcomed, acked: false, status: response.statusCode ?? 0, ws }));
    ws.once('open', () => ws.send(JSON.stringify({ t: 'hello', token })));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { t: string; seq?: number };
      if (frame.t === 'welcome') {
        welcomed = true;
        ws.send(JSON.stringify({ t: 'ev', seq: 1, k: 'answer', q: 'Q1', v: 'in' }));
      } else if (frame.t === 'ack' && frame.seq === 1) {
        resolve({ welcomed, acked: true, status: 101, ws });
      }
    });
    ws.once('close', () => resolve({ welcomed, acked: false, status: 101, ws }));
  });
}

t.test('a flood of silent sockets from one address holds its share only; students elsewhere get in', async (t) => {
  const ux = await startUntradexInProcess(t, {
    redis: { buckets: 4 },
    gateway: { connectionActors: 2, maxUnwelcomed: UNWELCOMED, maxUnwelcomedPerAddress: PER_ADDRESS },
  });
  const opened: WebSocket[] = [];
  t.teardown(() => opened.forEach((ws) => ws.terminate()));
  const token = (s: string) => mintStudentToken(ux.config.auth.secret, { exam: 'FLOOD', student: s, expiresAt: Math.floor(Date.now() / 1000) + 600 });

  const flood = await Promise.all(Array.from({ length: FLOOD }, () => attemptUpgrade(ux.gatewayUrl, '127.0.0.2')));
  opened.push(...flood.map((a) => a.ws));
  const upgraded = flood.filter((a) => a.status === 101).length;
  const refused = flood.filter((a) => a.status === 503).length;
  t.equal(upgraded, PER_ADDRESS, `the silent address got exactly ${PER_ADDRESS} of ${FLOOD} sockets`);
  t.equal(refused, FLOOD - PER_ADDRESS, 'the rest were refused with 503 at the upgrade');
  const status = (await ux.api<{ connections: { unwelcomed: number; total: number } }>('GET', '/api/status')).body.connections;
  t.equal(status.unwelcomed, PER_ADDRESS, 'status counts them as unwelcomed');

  // Students from three other addresses, all at once, while the flood holds its places.
  const students = await Promise.all(
    Array.from({ length: 60 }, (_, index) => student(ux.gatewayUrl, `127.0.0.${3 + (index % 3)}`, token(`S${index}`))),
  );
  opened.push(...students.map((s) => s.ws));
  t.equal(students.filter((s) => s.welcomed && s.acked).length, 60, 'every student from another address was welcomed and acked');

  // Welcomed sockets give their place back: one address may hold many more students than its
  // unwelcomed share, one after another.
  const many = [];
  for (let index = 0; index < PER_ADDRESS + 10; index++) many.push(await student(ux.gatewayUrl, '127.0.0.6', token(`M${index}`)));
  opened.push(...many.map((s) => s.ws));
  t.equal(many.filter((s) => s.acked).length, PER_ADDRESS + 10, `${PER_ADDRESS + 10} students from one address, beyond its unwelcomed share`);

  // The flooding address is at its cap: its own students wait until its silent sockets go.
  const blocked = await student(ux.gatewayUrl, '127.0.0.2', token('B1'));
  t.equal(blocked.status, 503, 'a student from the flooding address is refused while its share is full');
  flood.forEach((a) => a.ws.terminate());
  for (let i = 0; i < 400; i++) {
    if ((await ux.api<{ connections: { unwelcomed: number } }>('GET', '/api/status')).body.connections.unwelcomed === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const afterFlood = await student(ux.gatewayUrl, '127.0.0.2', token('B2'));
  opened.push(afterFlood.ws);
  t.ok(afterFlood.acked, 'once the silent sockets are gone, that address gets in again');

  recordReliability({
    kind: 'hostile',
    scenario: 'silent sockets from one address (no hello)',
    inputs: FLOOD,
    outcome: `${upgraded} upgraded and held, ${refused} refused 503; 60 students from other addresses and ${PER_ADDRESS + 10} from one more all acked`,
    harmed: 60 - students.filter((s) => s.acked).length,
    note: `gateway.maxUnwelcomedPerAddress ${PER_ADDRESS}, gateway.maxUnwelcomed ${UNWELCOMED}`,
  });
});

t.test('the process-wide cap holds when silent sockets come from many addresses', async (t) => {
  const ux = await startUntradexInProcess(t, {
    redis: { buckets: 4 },
    gateway: { connectionActors: 2, maxUnwelcomed: 30, maxUnwelcomedPerAddress: 20 },
  });
  const opened: WebSocket[] = [];
  t.teardown(() => opened.forEach((ws) => ws.terminate()));
  const attempts = await Promise.all(Array.from({ length: 80 }, (_, index) => attemptUpgrade(ux.gatewayUrl, `127.0.1.${1 + (index % 4)}`)));
  opened.push(...attempts.map((a) => a.ws));
  t.equal(attempts.filter((a) => a.status === 101).length, 30, 'exactly gateway.maxUnwelcomed silent sockets in all');
});
