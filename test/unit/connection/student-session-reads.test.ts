// Why a student's socket is not read (its claim, a full ring, the actor's own writes, a graceful stop),
// on real sockets: each reason is lifted only by what set it, and the socket reads on once none is left.

import t, { type Test } from 'tap';
import type { WebSocket } from 'ws';
import { StudentSession, type ReadHold } from '../../../actors/connection/student-session.js';
import { createWireTallies, WireTallies } from '../../../actors/connection/wire-tallies.js';
import type { RawStudent } from '../../helpers/raw-student.js';
import { startWsServer } from '../../helpers/ws-server.js';
import { waitFor } from '../../helpers/poll.js';

async function liveSession(t: Test): Promise<{ session: StudentSession; client: RawStudent; server: WebSocket; received: string[] }> {
  const wss = await startWsServer(t);
  const { client, server } = await wss.pair();
  const received: string[] = [];
  server.on('message', (data) => received.push(data.toString()));
  const session = new StudentSession(server, '127.0.0.1', { eventsPerSecond: 1_000, burst: 1_000 }, new WireTallies(createWireTallies()));
  session.phase = 'live';
  return { session, client, server, received };
}

/** A frame the client sends while its socket is not read must wait in the kernel; one turn of the loop and a little more lets a read happen if one could. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

t.test('a socket held for two reasons reads on only when both are lifted, and then gets what was sent meanwhile', async (t) => {
  const { session, client, server, received } = await liveSession(t);
  session.holdReads('claim');
  session.holdReads('ring');
  t.ok(server.isPaused, 'held: paused');
  client.sendText('while held');
  await settle();
  t.same(received, [], 'nothing is read while held');
  session.releaseReads('claim'); // the welcome, while events wait behind a full ring
  t.ok(server.isPaused, 'the ring still holds it');
  await settle();
  t.same(received, [], 'still nothing read');
  session.releaseReads('ring');
  t.notOk(server.isPaused, 'nothing holds it: reading again');
  await waitFor('the frame sent while held to be read', () => received.length === 1, { timeoutMs: 5_000 });
  t.same(received, ['while held']);
});

t.test('the welcome does not resume a socket the actor\'s own writes paused during the claim', async (t) => {
  // Before the holds were named, the welcome resumed any live socket with no events behind a full
  // ring, although its early frames had brought the actor's own writes to their limit.
  const { session, server } = await liveSession(t);
  session.holdReads('claim');
  session.holdReads('direct');
  session.releaseReads('claim');
  t.ok(server.isPaused, 'still held for the actor\'s own writes');
  t.ok(session.readsHeldFor('direct'));
  session.releaseReads('direct');
  t.notOk(server.isPaused);
});

t.test('a graceful stop\'s hold is not lifted by the ring or the actor\'s writes emptying', async (t) => {
  const { session, server } = await liveSession(t);
  for (const reason of ['ring', 'direct'] as ReadHold[]) session.holdReads(reason);
  session.holdReads('stop');
  session.releaseReads('ring');
  session.releaseReads('direct');
  t.ok(server.isPaused, 'the stop still holds it');
  session.releaseReads('claim'); // a reason that was never set changes nothing
  t.ok(server.isPaused);
  t.ok(session.readsHeldFor('stop'));
  t.notOk(session.readsHeldFor('ring'));
});

t.test('a closing socket is read whatever held it, so its close reply is seen, and is never held again', async (t) => {
  const { session, client, server } = await liveSession(t);
  session.holdReads('ring');
  session.holdReads('direct');
  session.close(4000, 'test close');
  t.notOk(server.isPaused, 'closing: read again');
  t.notOk(session.readsHeldFor('ring'));
  session.holdReads('ring');
  t.notOk(server.isPaused, 'a closing socket is not held');
  const closed = await client.closed;
  t.equal(closed.code, 4000, 'the close handshake completes');
});
