// Student tokens against a running gateway (docs/PROTOCOL.md section 2): forged, expired and malformed
// ones get 4401 and leave no trace in Redis; a token only ever writes to its own exam, whatever
// the frames claim; one token on several sockets at once leaves exactly one live session.
//
// Constant-time comparison is checked by review, not by test (a test cannot prove timing):
// src/auth/student-token.ts compares the 32-byte HMAC with crypto.timingSafeEqual after checking
// the length, and src/control/http-json.ts compares SHA-256 digests of bearer tokens the same way.

import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import t from 'tap';
import { mintStudentToken } from '../../src/auth/student-token.js';
import { recordReliability } from '../helpers/reliability-record.js';
import { connectRaw, helloRaw } from '../helpers/raw-student.js';
import { storedEventsByStudent } from '../helpers/stored-events.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

const SECRET = 'student-tokens-test-secret-0123456789';
const BUCKETS = 4;
const now = () => Math.floor(Date.now() / 1000);
const b64 = (text: string) => Buffer.from(text).toString('base64url');
const sign = (payload: string, secret = SECRET) => createHmac('sha256', secret).update(`v1.${payload}`).digest('base64url');
/** A token signed with the real secret over any payload text: tests what verify does after the signature. */
const signed = (json: string) => `v1.${b64(json)}.${sign(b64(json))}`;

/** Every key Redis holds for `exam` (its buckets and its meta). */
async function keysOf(redis: Redis, exam: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch.filter((key) => key.startsWith(`ux:{${exam}:`) || key.startsWith(`ux:{${exam}}`)));
  } while (cursor !== '0');
  return keys;
}

t.test('student tokens at the gateway', async (t) => {
  const ux = await startUntradexInProcess(t, { auth: { secret: SECRET }, redis: { buckets: BUCKETS }, gateway: { connectionActors: 2 } });
  const redis = ux.redis();
  const valid = mintStudentToken(SECRET, { exam: 'TOK', student: 'S1', expiresAt: now() + 600 });
  const [, payload, sig] = valid.split('.') as [string, string, string];
  const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
  const other = b64(JSON.stringify({ e: 'TOK', s: 'S2', x: now() + 600 }));

  const refused: Array<[string, unknown]> = [
    // Forged
    ['a flipped signature character', `v1.${payload}.${flip(sig, 7)}`],
    ['a signature from another secret', mintStudentToken('guessed-secret-guessed-secret', { exam: 'TOK', student: 'S1', expiresAt: now() + 600 })],
    ["another student's payload under S1's signature", `v1.${other}.${sig}`],
    ['the payload with its expiry pushed out, old signature', `v1.${b64(JSON.stringify({ e: 'TOK', s: 'S1', x: now() + 999_999 }))}.${sig}`],
    ['an HMAC keyed with the empty string', `v1.${payload}.${sign(payload, '')}`],
    ['a SHA-256 of the payload, no key', `v1.${payload}.${createHmac('sha256', Buffer.alloc(0)).update(payload).digest('base64url')}`],
    ['a truncated signature', `v1.${payload}.${sig.slice(0, 42)}`],
    ['a signature with a byte appended', `v1.${payload}.${Buffer.concat([Buffer.from(sig, 'base64url'), Buffer.from([0])]).toString('base64url')}`],
    // Expired
    ['expired a second ago', mintStudentToken(SECRET, { exam: 'TOK', student: 'S1', expiresAt: now() - 1 })],
    ['expired long ago', mintStudentToken(SECRET, { exam: 'TOK', student: 'S1', expiresAt: 1 })],
    ['expiry 0', signed('{"e":"TOK","s":"S1","x":0}')],
    ['a negative expiry', signed('{"e":"TOK","s":"S1","x":-1}')],
    // Malformed, some of them properly signed
    ['two parts', `v1.${payload}`],
    ['four parts', `${valid}.x`],
    ['another version', `v2.${payload}.${sig}`],
    ['padding', `${valid}=`],
    ['standard base64', `v1.${payload}.${Buffer.from(sig, 'base64url').toString('base64')}`],
    ['surrounding whitespace', ` ${valid} `],
    ['a NUL inside', `${valid.slice(0, 10)}\u0000${valid.slice(10)}`],
    ['non-ASCII', `v1.${payload}é.${sig}`],
    ['3 KB of junk', `v1.${'A'.repeat(3000)}.${sig}`],
    ['a number', 12345],
    ['an object', { e: 'TOK', s: 'S1' }],
    ['null', null],
    ['signed, exam with a space', signed(`{"e":"TOK X","s":"S1","x":${now() + 600}}`)],
    ['signed, exam with a hash-tag brace', signed(`{"e":"TOK}","s":"S1","x":${now() + 600}}`)],
    ['signed, student of 65 characters', signed(`{"e":"TOK","s":"${'s'.repeat(65)}","x":${now() + 600}}`)],
    ['signed, student with a newline', signed(`{"e":"TOK","s":"S1\\nS2","x":${now() + 600}}`)],
    ['signed, expiry fractional', signed(`{"e":"TOK","s":"S1","x":${now() + 600}.5}`)],
    ['signed, expiry a string', signed(`{"e":"TOK","s":"S1","x":"${now() + 600}"}`)],
    ['signed, expiry 1e400', signed('{"e":"TOK","s":"S1","x":1e400}')],
    ['signed, not JSON', signed('e=TOK&s=S1')],
    ['signed, a JSON array', signed(`["TOK","S1",${now() + 600}]`)],
    ['signed, __proto__ smuggling', signed(`{"__proto__":{"e":"TOK","s":"S1","x":${now() + 600}}}`)],
  ];
  const outcomes = new Map<string, number>();
  for (const [what, token] of refused) {
    const student = await connectRaw(ux.gatewayUrl);
    student.send({ t: 'hello', token });
    // Frames right behind the hello must not slip through either.
    student.send({ t: 'ev', seq: 1, k: 'answer', q: 'Q1', v: 'forged' });
    // A token that is wrongly accepted leaves the socket open: give up on it after a while.
    const { code } = await Promise.race([student.closed, new Promise<{ code: number }>((resolve) => setTimeout(resolve, 5_000, { code: -1 }))]);
    if (code === -1) student.ws.terminate();
    const err = student.frames.find((frame) => frame.t === 'err');
    t.equal(code, 4401, `${what}: close 4401`);
    t.equal(err?.code, 'unauthorized', `${what}: err unauthorized`);
    t.notOk(student.frames.some((frame) => frame.t === 'welcome' || frame.t === 'ack'), `${what}: no welcome, no ack`);
    outcomes.set(`close ${code}`, (outcomes.get(`close ${code}`) ?? 0) + 1);
  }
  t.same(await keysOf(redis, 'TOK'), [], 'no refused token left any key for its exam (no session, no event)');

  recordReliability({
    kind: 'hostile',
    scenario: 'forged, expired and malformed student tokens',
    inputs: refused.length,
    outcome: [...outcomes].map(([key, n]) => `${key}: ${n}`).join(', '),
    harmed: refused.length - (outcomes.get('close 4401') ?? 0),
  });

  t.test("a token writes only to its own exam, whatever the frames say", async (t) => {
    const own = await helloRaw(ux.gatewayUrl, mintStudentToken(SECRET, { exam: 'HOME', student: 'S1', expiresAt: now() + 600 }));
    t.match(own.welcome, { t: 'welcome', exam: 'HOME', student: 'S1', lastSeq: 0 });
    const socket = own.student;
    // Fields naming another exam or student are unknown fields: ignored, never obeyed.
    const smuggled = [
      { t: 'ev', seq: 1, k: 'answer', q: 'Q1', v: 'a', exam: 'VICTIM' },
      { t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: 'b', e: 'VICTIM', s: 'S9' },
      { t: 'ev', seq: 3, k: 'answer', q: 'Q1', v: 'c', student: 'S9', token: mintStudentToken(SECRET, { exam: 'VICTIM', student: 'S9', expiresAt: now() + 600 }) },
      { t: 'ev', seq: 4, k: 'answer', q: 'VICTIM:0}', v: 'd' },
      { t: 'ev', seq: 5, k: 'answer', q: 'Q1', v: 'ux:{VICTIM:0}:ans' },
    ];
    for (const frame of smuggled) socket.send(frame);
    // JSON.stringify drops a real __proto__; send the key itself, as an attacker would.
    socket.sendText('{"t":"ev","seq":6,"k":"answer","q":"Q1","v":"e","__proto__":{"exam":"VICTIM","e":"VICTIM"}}');
    await socket.next((frame) => frame.t === 'ack' && frame.seq === 6);
    // A second hello carrying the victim's valid token is a protocol violation, not a switch.
    socket.send({ t: 'hello', token: mintStudentToken(SECRET, { exam: 'VICTIM', student: 'S1', expiresAt: now() + 600 }) });
    t.equal((await socket.closed).code, 4400, 'a second hello (even with a valid token for another exam) closes with 4400');

    t.same(await keysOf(redis, 'VICTIM'), [], 'nothing at all under the other exam');
    const stored = (await storedEventsByStudent(redis, 'HOME', BUCKETS)).get('S1') ?? [];
    t.same(stored.map((event) => [event.seq, event.value]), [[1, 'a'], [2, 'b'], [3, 'c'], [5, 'ux:{VICTIM:0}:ans'], [6, 'e']], 'everything landed in HOME (seq 4 had a bad question id)');
    t.match((await ux.api('GET', '/api/exams/VICTIM')).body, { state: 'open', students: 0, events: 0 });

    // After HOME is finalized its token is refused events, and still cannot reach VICTIM.
    t.equal((await ux.api('POST', '/api/exams/HOME/finalize')).status, 202);
    const late = await helloRaw(ux.gatewayUrl, mintStudentToken(SECRET, { exam: 'HOME', student: 'S1', expiresAt: now() + 600 }));
    t.match(late.welcome, { exam: 'HOME', state: 'closed', lastSeq: 6 });
    late.student.send({ t: 'ev', seq: 7, k: 'answer', q: 'Q1', v: 'late', exam: 'VICTIM' });
    t.match(await late.student.next((frame) => frame.t === 'nack'), { seq: 7, code: 'exam_closed' });
    late.student.close();
    t.same(await keysOf(redis, 'VICTIM'), [], 'still nothing under the other exam');
  });

  t.test('one token on six sockets at once: exactly one live session, only its events stored', async (t) => {
    const token = mintStudentToken(SECRET, { exam: 'REUSE', student: 'S1', expiresAt: now() + 600 });
    const sockets = await Promise.all(Array.from({ length: 6 }, () => connectRaw(ux.gatewayUrl)));
    t.teardown(() => sockets.forEach((socket) => socket.ws.terminate()));
    // All hellos at once, over both connection actors: the claims race in Redis. Under rule 7 a
    // hello whose claim reaches Redis after a newer hello's is refused without a welcome; every
    // other one is welcomed, and all but the newest are then replaced.
    sockets.forEach((socket) => socket.send({ t: 'hello', token }));
    const first = await Promise.all(sockets.map((socket) => socket.next((frame) => frame.t === 'welcome' || frame.t === 'err')));
    t.ok(first.some((frame) => frame.t === 'welcome'), 'at least one hello is welcomed');
    t.ok(first.every((frame) => frame.t === 'welcome' || frame.code === 'replaced'), 'the others are told replaced, nothing else');
    // Every claim is done: each welcomed socket now writes its own answer; superseded ones must not store.
    sockets.forEach((socket, index) => {
      if (first[index]!.t === 'welcome' && socket.ws.readyState === socket.ws.OPEN) socket.send({ t: 'ev', seq: 1 + index, k: 'answer', q: 'Q1', v: `socket ${index}` });
    });
    for (let i = 0; i < 100 && sockets.filter((s) => s.ws.readyState === s.ws.OPEN).length > 1; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const live = sockets.filter((socket) => socket.ws.readyState === socket.ws.OPEN);
    t.equal(live.length, 1, 'one socket is still open');
    const losers = sockets.filter((socket) => !live.includes(socket));
    t.same((await Promise.all(losers.map((socket) => socket.closed))).map((close) => close.code), [4409, 4409, 4409, 4409, 4409], 'the other five were closed with 4409');
    t.ok(losers.every((socket) => socket.frames.some((frame) => frame.t === 'err' && frame.code === 'replaced')), 'each after err replaced');

    const winner = live[0]!;
    const index = sockets.indexOf(winner);
    winner.send({ t: 'ev', seq: 100, k: 'answer', q: 'Q2', v: 'winner' });
    await winner.next((frame) => frame.t === 'ack' && frame.seq === 100);
    const stored = (await storedEventsByStudent(redis, 'REUSE', BUCKETS)).get('S1') ?? [];
    t.same(stored.map((event) => [event.seq, event.value]), [[1 + index, `socket ${index}`], [100, 'winner']], 'only the live session stored anything');
    winner.close();
  });
});
