// Rule 7 against a running gateway: a hello never replaces a session newer than itself. A slow
// claim, a claim whose reply comes late, and a connection that closed before its claim went out
// each leave the newer session live and storing; only the stale connection hears `replaced`.

import t from 'tap';
import { injectFault } from '../../../src/actor-runtime/fault-injection.js';
import { mintStudentToken } from '../../../src/auth/student-token.js';
import { bucketKeys, bucketOf } from '../../../src/redis/bucket-keys.js';
import { parseStudentState } from '../../../src/redis/student-state.js';
import { connectRaw, helloRaw, type RawStudent } from '../../helpers/raw-student.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

// Read by the actor threads this file starts (they inherit the environment at spawn).
process.env.UX_FAULT_INJECTION = '1';

const SECRET = 'stale-hello-test-secret-0123456789';
const BUCKETS = 4;
const expiresAt = () => Math.floor(Date.now() / 1000) + 600;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The close code, or -1 if the socket is still open after 10 s (a stale session that stayed live). */
const closeCode = (socket: RawStudent) => Promise.race([socket.closed.then((close) => close.code), sleep(10_000).then(() => -1)]);

t.test('rule 7: stale hellos', async (t) => {
  // One connection actor: both of a student's sockets land on it, and a fault armed there hits
  // exactly the claim the test means (the n-th claim of that thread).
  const ux = await startUntradexInProcess(t, { auth: { secret: SECRET }, redis: { buckets: BUCKETS }, gateway: { connectionActors: 1 } });
  const actor = ux.app.root.connectionActors[0]!;
  const redis = ux.redis();
  const token = (exam: string) => mintStudentToken(SECRET, { exam, student: 'S1', expiresAt: expiresAt() });
  const epochOf = async (exam: string) => parseStudentState((await redis.hget(bucketKeys.seq(exam, bucketOf(exam, 'S1', BUCKETS)), 'S1')) ?? '')?.epoch ?? 0;
  /** Sends hello on a new socket: the claim it causes is the actor's next one. */
  const hello = async (exam: string): Promise<RawStudent> => {
    const socket = await connectRaw(ux.gatewayUrl);
    t.teardown(() => socket.ws.terminate());
    socket.send({ t: 'hello', token: token(exam) });
    return socket;
  };
  const answerAcked = async (socket: RawStudent, seq: number) => {
    socket.send({ t: 'ev', seq, k: 'answer', q: 'Q1', v: `v${seq}` });
    return socket.next((frame) => (frame.t === 'ack' && frame.seq === seq) || frame.t === 'err', 10_000);
  };

  t.test('a slow claim of an earlier hello loses to the newer session that went live meanwhile', async (t) => {
    const exam = 'R7-SLOW';
    await injectFault(actor.api, { point: 'connection.claim', action: 'delay', delayMs: 1_500, nth: 1 });
    const early = await hello(exam);
    await sleep(100);
    const late = await hello(exam);
    t.match(await late.next((frame) => frame.t === 'welcome'), { lastSeq: 0, state: 'open' }, 'the later hello is welcomed first');
    t.match(await answerAcked(late, 1), { t: 'ack', seq: 1 });
    t.equal(await closeCode(early), 4409, 'the earlier hello, claimed late, is the one closed with 4409');
    t.ok(early.frames.some((frame) => frame.t === 'err' && frame.code === 'replaced'), 'after err replaced');
    t.notOk(early.frames.some((frame) => frame.t === 'welcome'), 'and was never welcomed');
    t.match(await answerAcked(late, 2), { t: 'ack', seq: 2 }, 'the live session keeps storing');
    t.equal(late.ws.readyState, late.ws.OPEN, 'and stays open');
    t.equal(await epochOf(exam), 1, 'Redis still holds the live session as the newest');
  });

  t.test('an older claim whose reply comes late never goes live, and never replaces the newer session', async (t) => {
    const exam = 'R7-REPLY';
    await injectFault(actor.api, { point: 'connection.claimReply', action: 'delay', delayMs: 1_500, nth: 1 });
    const early = await hello(exam);
    await sleep(200);
    const late = await hello(exam);
    t.match(await late.next((frame) => frame.t === 'welcome'), { lastSeq: 0 });
    t.match(await answerAcked(late, 1), { t: 'ack', seq: 1 });
    t.equal(await closeCode(early), 4409, 'the older session is closed with 4409 when its reply is looked at');
    t.notOk(early.frames.some((frame) => frame.t === 'welcome'), 'without a welcome');
    t.match(await answerAcked(late, 2), { t: 'ack', seq: 2 }, 'the newer session was never told replaced');
    t.notOk(late.frames.some((frame) => frame.t === 'err'), 'no err at all on the newer session');
  });

  t.test('a connection that closed before its claim went out claims nothing', async (t) => {
    const exam = 'R7-GONE';
    const live = await hello(exam);
    t.match(await live.next((frame) => frame.t === 'welcome'), { lastSeq: 0 });
    t.match(await answerAcked(live, 1), { t: 'ack', seq: 1 });
    await injectFault(actor.api, { point: 'connection.claim', action: 'delay', delayMs: 800, nth: 1 });
    const flicker = await hello(exam);
    await sleep(100);
    flicker.ws.terminate();
    await sleep(1_200);
    t.match(await answerAcked(live, 2), { t: 'ack', seq: 2 }, 'the live session still stores');
    t.notOk(live.frames.some((frame) => frame.t === 'err'), 'and was never told replaced by the dead connection');
    t.equal(await epochOf(exam), 1, 'the dead connection claimed nothing');
  });

  t.test('hello and close in one read: the close is seen first, nothing is claimed', async (t) => {
    const exam = 'R7-SAMEREAD';
    const live = await hello(exam);
    t.match(await live.next((frame) => frame.t === 'welcome'), { lastSeq: 0 });
    for (let i = 0; i < 20; i++) {
      const socket = await connectRaw(ux.gatewayUrl);
      // Cork the client socket so hello and close leave in one segment.
      const raw = (socket.ws as unknown as { _socket: import('node:net').Socket })._socket;
      raw.cork();
      socket.send({ t: 'hello', token: token(exam) });
      socket.ws.close(1000);
      raw.uncork();
      await socket.closed;
    }
    t.match(await answerAcked(live, 1), { t: 'ack', seq: 1 });
    t.notOk(live.frames.some((frame) => frame.t === 'err'), 'the live session was never replaced');
    t.equal(await epochOf(exam), 1);
  });

  t.test('a superseded session gets 4409 at once, and its resends are not acked as duplicates', async (t) => {
    const exam = 'R7-RESEND';
    const old = await helloRaw(ux.gatewayUrl, token(exam));
    t.teardown(() => old.student.ws.terminate());
    t.match(await answerAcked(old.student, 1), { t: 'ack', seq: 1 });
    const fresh = await helloRaw(ux.gatewayUrl, token(exam));
    t.teardown(() => fresh.student.ws.terminate());
    t.match(fresh.welcome, { lastSeq: 1 });
    t.equal(await closeCode(old.student), 4409, 'the older session is closed by the announcement, without writing');
    t.notOk(old.student.frames.some((frame) => frame.t === 'ack' && frame.seq !== 1), 'nothing else was acked on it');
    t.match(await answerAcked(fresh.student, 2), { t: 'ack', seq: 2 });
    const stored = (await storedEventsByStudent(redis, exam, BUCKETS)).get('S1') ?? [];
    t.same(stored.map((event) => event.value), ['v1', 'v2']);
  });
});
