// docs/PROTOCOL.md section 3 against the real server, rule by rule: close codes, nacks, duplicates,
// submit and close rules, limits, and what is (not) stored. Raw sockets, no client library.

import t from 'tap';
import { WebSocket } from 'ws';
import { mintStudentToken } from '../../../src/auth/student-token.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { connectRaw, helloRaw, type RawStudent } from '../../helpers/raw-student.js';
import { pollUntil } from '../../helpers/poll.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

const BUCKETS = 4;

t.test('student protocol conformance', async (t) => {
  const ux = await startUntradexInProcess(t, {
    redis: { buckets: BUCKETS },
    gateway: { connectionActors: 2, helloTimeoutMs: 400, maxFrameBytes: 1024, maxValueBytes: 100, pingIntervalMs: 1000, maxConnections: 40 },
  });
  const secret = ux.config.auth.secret;
  const token = (exam: string, student: string, expiresAt = Math.floor(Date.now() / 1000) + 3600) => mintStudentToken(secret, { exam, student, expiresAt });
  const stored = async (exam: string, student: string) => ((await storedEventsByStudent(ux.redis(), exam, BUCKETS)).get(student) ?? []).map((event) => event.seq);
  const hello = async (exam: string, student: string): Promise<RawStudent> => {
    const { student: socket, welcome } = await helloRaw(ux.gatewayUrl, token(exam, student));
    t.equal(welcome.t, 'welcome');
    return socket;
  };

  t.test('close codes for broken connections', async (t) => {
    const cases: Array<[string, (socket: RawStudent) => void, number]> = [
      ['a frame before hello', (s) => s.send({ t: 'ev', seq: 1, k: 'open' }), 4400],
      ['bad JSON', (s) => s.sendText('{"t":'), 4400],
      ['JSON that is not an object', (s) => s.sendText('[1,2]'), 4400],
      ['an unknown t', (s) => s.send({ t: 'hi' }), 4400],
      ['a binary frame', (s) => s.ws.send(Buffer.from('{"t":"hello"}'), { binary: true }), 4400],
      ['invalid UTF-8', (s) => s.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }), 1007],
      ['a frame over gateway.maxFrameBytes', (s) => s.sendText(JSON.stringify({ t: 'hello', token: 'x'.repeat(2000) })), 1009],
      ['a forged token', (s) => s.send({ t: 'hello', token: token('E', 'S1').slice(0, -2) + 'AA' }), 4401],
      ['an expired token', (s) => s.send({ t: 'hello', token: token('E', 'S1', Math.floor(Date.now() / 1000) - 1) }), 4401],
      ['a malformed token', (s) => s.send({ t: 'hello', token: 'v1.nope' }), 4401],
      ['a token signed with another secret', (s) => s.send({ t: 'hello', token: mintStudentToken('another-secret-entirely', { exam: 'E', student: 'S1', expiresAt: 2e9 }) }), 4401],
      ['a hello without a token', (s) => s.send({ t: 'hello' }), 4401],
    ];
    for (const [what, act, code] of cases) {
      const socket = await connectRaw(ux.gatewayUrl);
      act(socket);
      t.equal((await socket.closed).code, code, `${what} closes with ${code}`);
    }
    const silent = await connectRaw(ux.gatewayUrl);
    t.equal((await silent.closed).code, 4408, 'no hello within gateway.helloTimeoutMs closes with 4408');
  });

  t.test('protocol violations after hello close with 4400 and store nothing', async (t) => {
    const cases: Array<[string, unknown]> = [
      ['a second hello', { t: 'hello', token: token('PV', 'S1') }],
      ['seq missing', { t: 'ev', k: 'open' }],
      ['seq 0', { t: 'ev', seq: 0, k: 'open' }],
      ['seq negative', { t: 'ev', seq: -3, k: 'open' }],
      ['seq fractional', { t: 'ev', seq: 1.5, k: 'open' }],
      ['seq as a string', { t: 'ev', seq: '1', k: 'open' }],
      ['seq above 2^53-1', { t: 'ev', seq: 2 ** 53, k: 'open' }],
    ];
    for (const [what, frame] of cases) {
      const socket = await hello('PV', 'S1');
      socket.send(frame);
      t.equal((await socket.closed).code, 4400, what);
    }
    t.same(await stored('PV', 'S1'), [], 'nothing was stored');
  });

  t.test('bad events get nack bad_event for their seq, and nothing is stored', async (t) => {
    const socket = await hello('BE', 'S1');
    const bad: Array<[string, Record<string, unknown>]> = [
      ['k missing', { seq: 1 }],
      ['k unknown', { seq: 2, k: 'cheat' }],
      ['answer without q', { seq: 3, k: 'answer', v: 'A' }],
      ['answer without v', { seq: 4, k: 'answer', q: 'Q1' }],
      ['q with a forbidden character', { seq: 5, k: 'answer', q: 'Q 1', v: 'A' }],
      ['q longer than 64', { seq: 6, k: 'answer', q: 'Q'.repeat(65), v: 'A' }],
      ['v over maxValueBytes (in UTF-8 bytes)', { seq: 7, k: 'answer', q: 'Q1', v: 'é'.repeat(51) }],
      ['v with U+0000', { seq: 8, k: 'answer', q: 'Q1', v: 'a\u0000b' }],
      ['v not a string', { seq: 9, k: 'answer', q: 'Q1', v: 7 }],
      ['ts negative', { seq: 10, k: 'open', ts: -1 }],
      ['ts fractional', { seq: 11, k: 'open', ts: 1.5 }],
      ['ts past year 9999', { seq: 12, k: 'open', ts: 253402300800000 }],
    ];
    for (const [what, fields] of bad) {
      socket.send({ t: 'ev', ...fields });
      t.match(await socket.next((frame) => frame.t === 'nack' && frame.seq === fields.seq), { code: 'bad_event' }, what);
    }
    t.same(await stored('BE', 'S1'), [], 'nothing was stored');
    socket.send({ t: 'ev', seq: 20, k: 'answer', q: 'Q1', v: 'é'.repeat(50), ts: null, extra: 'ignored' });
    t.match(await socket.next((frame) => frame.t === 'ack'), { seq: 20 }, 'a value of exactly maxValueBytes, ts null and unknown fields are fine');
    socket.close();
  });

  t.test('duplicates, order, submit and clears', async (t) => {
    const socket = await hello('DS', 'S1');
    socket.send({ t: 'ev', seq: 1, k: 'open', q: 'ignored', v: 'ignored' });
    socket.send({ t: 'ev', seq: 5, k: 'answer', q: 'Q1', v: 'A' });
    socket.send({ t: 'ev', seq: 9, k: 'answer', q: 'Q1', v: '' });
    await socket.next((frame) => frame.t === 'ack' && frame.seq === 9);
    socket.send({ t: 'ev', seq: 5, k: 'answer', q: 'Q1', v: 'A' });
    t.match(await socket.next((frame) => frame.t === 'ack' && frame.seq === 5), { seq: 5 }, 'a resent event is acked again');
    socket.send({ t: 'ev', seq: 10, k: 'submit' });
    await socket.next((frame) => frame.t === 'ack' && frame.seq === 10);
    for (const [seq, fields] of [[11, { k: 'answer', q: 'Q2', v: 'B' }], [12, { k: 'open' }], [13, { k: 'submit' }]] as const) {
      socket.send({ t: 'ev', seq, ...fields });
      t.match(await socket.next((frame) => frame.t === 'nack' && frame.seq === seq), { code: 'submitted' }, `${fields.k} after submit`);
    }
    socket.send({ t: 'ev', seq: 9, k: 'answer', q: 'Q1', v: '' });
    await socket.next((frame) => frame.t === 'ack' && frame.seq === 9 && socket.frames.filter((f) => f.t === 'ack' && f.seq === 9).length === 2);
    t.equal(socket.frames.filter((frame) => frame.t === 'ack' && frame.seq === 9).length, 2, 'a duplicate after submit is acked again');
    const events = (await storedEventsByStudent(ux.redis(), 'DS', BUCKETS)).get('S1')!;
    t.same(events.map((event) => [event.seq, event.kind, event.value]), [[1, 'o', ''], [5, 'a', 'A'], [9, 'a', ''], [10, 's', '']], 'stored once each, in seq order; "" kept as a clear');
    socket.close();
    const again = await helloRaw(ux.gatewayUrl, token('DS', 'S1'));
    t.match(again.welcome, { t: 'welcome', exam: 'DS', student: 'S1', lastSeq: 10, state: 'open' });
    t.type(again.welcome.serverTime, 'number');
    again.student.close();
  });

  t.test('after finalize: closed frame, exam_closed nacks, duplicates still acked, welcome says closed', async (t) => {
    const socket = await hello('FC', 'S1');
    socket.send({ t: 'ev', seq: 1, k: 'answer', q: 'Q1', v: 'A' });
    await socket.next((frame) => frame.t === 'ack');
    t.equal((await ux.api('POST', '/api/exams/FC/finalize')).status, 202);
    await socket.next((frame) => frame.t === 'closed');
    socket.send({ t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: 'B' });
    t.match(await socket.next((frame) => frame.t === 'nack'), { seq: 2, code: 'exam_closed' });
    socket.send({ t: 'ev', seq: 1, k: 'answer', q: 'Q1', v: 'A' });
    t.match(await socket.next((frame) => frame.t === 'ack' && frame.seq === 1 && socket.frames.filter((f) => f.t === 'ack').length === 2), { seq: 1 }, 'a duplicate after finalize is acked');
    t.equal(socket.frames.filter((frame) => frame.t === 'closed').length, 1, 'closed is sent once');
    socket.close();
    const late = await helloRaw(ux.gatewayUrl, token('FC', 'S2'));
    t.match(late.welcome, { state: 'closed', lastSeq: 0 });
    late.student.close();
  });

  t.test('HTTP surface of the gateway: only /ws upgrades, plain HTTP gets 426', async (t) => {
    const url = new URL(ux.gatewayUrl);
    const plain = await fetch(`http://${url.host}/ws`);
    t.equal(plain.status, 426);
    const wrongPath = new WebSocket(`ws://${url.host}/other`);
    const status = await new Promise<number>((resolve) => wrongPath.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)));
    t.equal(status, 404);
  });

  t.test('a client that stops answering pings is dropped', async (t) => {
    const ws = new WebSocket(ux.gatewayUrl, { autoPong: false });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ t: 'hello', token: token('PING', 'S1') }));
    const closed = await new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    t.equal(closed, 1006, 'terminated without a close frame after missing pongs');
  });

  t.test('a client that keeps sending frames is not pinged, and stays though it never answers pings', async (t) => {
    const ws = new WebSocket(ux.gatewayUrl, { autoPong: false });
    t.teardown(() => ws.terminate());
    let pings = 0;
    let closed = false;
    ws.on('ping', () => (pings += 1));
    ws.once('close', () => (closed = true));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ t: 'hello', token: token('PING', 'TALKER') }));
    await new Promise((resolve) => ws.once('message', resolve));
    // Four of this test's 1 s ping intervals, an answer every 200 ms: a socket that missed pongs is
    // dropped within two intervals, so silence here would have closed it (the test above).
    let seq = 0;
    let acked = 0;
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { t: string; seq?: number };
      if (frame.t === 'ack') acked = frame.seq ?? acked;
    });
    for (let sent = 0; sent < 20; sent += 1) {
      seq += 1;
      ws.send(JSON.stringify({ t: 'ev', seq, k: 'answer', q: 'Q1', v: `A${seq}` }));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await pollUntil('every answer acked', () => acked, (last) => last === seq);
    t.notOk(closed, 'still connected after four intervals without a pong');
    t.equal(pings, 0, 'and never pinged: its frames proved it alive');
    t.equal((await stored('PING', 'TALKER')).length, seq, 'every answer stored');
  });

  t.test('gateway.maxConnections is enforced at the upgrade with 503', async (t) => {
    const sockets: WebSocket[] = [];
    t.teardown(() => sockets.forEach((socket) => socket.terminate()));
    let refused = 0;
    for (let index = 0; index < 45 && refused === 0; index += 1) {
      const socket = new WebSocket(ux.gatewayUrl);
      sockets.push(socket);
      refused += await new Promise<number>((resolve) => {
        // Each socket says hello and is welcomed: a silent one would be closed after this test's
        // 400 ms hello timeout and give its place back before the cap is reached on a slow box.
        socket.once('open', () => {
          socket.send(JSON.stringify({ t: 'hello', token: token('CAP', `S${index}`) }));
          socket.once('message', () => resolve(0));
        });
        socket.once('unexpected-response', (_request, response) => resolve(response.statusCode === 503 ? 1 : 0));
        socket.once('error', () => resolve(0));
      });
    }
    t.equal(refused, 1, 'the connection past the cap got 503');
    t.ok(sockets.length <= 41, `refused at about the cap of 40 (after ${sockets.length - 1} open)`);
  });
});
