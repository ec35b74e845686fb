// The control API under hostile requests (docs/PROTOCOL.md section 4): a missing or wrong bearer gets
// 401 and changes nothing (finalize, purge, tokens), bodies are size limited, hostile exam ids
// in paths get 400, and by default it listens on 127.0.0.1 only.

import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import t from 'tap';
import { recordReliability } from '../helpers/reliability-record.js';
import { helloRaw } from '../helpers/raw-student.js';
import { waitForExamState, type ExamBody } from '../helpers/exam-traffic.js';
import { startUntradexProcess } from '../helpers/untradex.js';

const MAX_BODY = 4096;

/** A raw request, so the test controls chunking, headers and body size exactly. */
function rawRequest(port: number, options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | Buffer[] }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: options.method, path: options.path, headers: options.headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const parts = options.body === undefined ? [] : Array.isArray(options.body) ? options.body : [options.body];
    // A server that answers early may close before the whole body went out: that is fine here.
    req.on('error', () => undefined);
    for (const part of parts) req.write(part);
    req.end();
  });
}

const ENDLESS_LIMIT = 64 * 1024 * 1024;

/** Streams a chunked body until the server answers or drops the connection (at most 64 MiB). */
function endlessBody(port: number, path: string, headers: Record<string, string>): Promise<{ sent: number; outcome: string }> {
  return new Promise((resolve) => {
    let sent = 0;
    let done = false;
    const finish = (outcome: string) => {
      if (done) return;
      done = true;
      req.destroy();
      resolve({ sent, outcome });
    };
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: { ...headers, 'transfer-encoding': 'chunked' } }, (response) => {
      finish(`status ${response.statusCode}`);
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish(`error ${error.code}`));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!done && sent < ENDLESS_LIMIT) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!done) finish('never cut off');
    };
    pump();
  });
}

/** Whether something accepts TCP on host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

t.test('control API against hostile requests', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { buckets: 4 }, control: { maxBodyBytes: MAX_BODY } });
  const port = Number(new URL(ux.controlUrl).port);
  const tokens = await ux.tokens('CTL', ['S1']);
  const { student } = await helloRaw(ux.gatewayUrl, tokens.S1!);
  t.teardown(() => student.close());
  for (let seq = 1; seq <= 3; seq++) student.send({ t: 'ev', seq, k: 'answer', q: 'Q1', v: `v${seq}` });
  await student.next((frame) => frame.t === 'ack' && frame.seq === 3);
  // An exported exam, for purge.
  const exp = await ux.tokens('EXP', ['S1']);
  const other = await helloRaw(ux.gatewayUrl, exp.S1!);
  other.student.send({ t: 'ev', seq: 1, k: 'open' });
  await other.student.next((frame) => frame.t === 'ack');
  other.student.close();
  t.equal((await ux.api('POST', '/api/exams/EXP/finalize')).status, 202);
  const exported = await waitForExamState(ux, 'EXP', ['exported']);

  t.test('a missing or wrong bearer gets 401 and does nothing', async (t) => {
    const token = ux.adminToken;
    const badHeaders: Array<Record<string, string>> = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: 'Bearer wrong-token-wrong-token' },
      { authorization: `Bearer ${token}x` },
      { authorization: `Bearer ${token.slice(0, -1)}` },
      { authorization: `Bearer  ${token}` },
      { authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` },
      { authorization: `Token ${token}` },
      { 'x-authorization': `Bearer ${token}` },
      { cookie: `token=${token}` },
    ];
    const routes: Array<[string, string, unknown]> = [
      ['POST', '/api/exams/CTL/finalize', undefined],
      ['GET', '/api/finalizarexamen?exam=CTL', undefined],
      ['POST', '/api/exams/EXP/purge', undefined],
      ['POST', '/api/exams/CTL/tokens', { students: ['S1'] }],
      ['GET', '/api/status', undefined],
      ['GET', '/api/exams/CTL', undefined],
      ['GET', `/api/exams/CTL/finalize?token=${token}`, undefined],
    ];
    let attempts = 0;
    let unauthorized = 0;
    for (const [method, path, body] of routes) {
      for (const headers of badHeaders) {
        const reply = await rawRequest(port, { method, path, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)) });
        attempts += 1;
        if (reply.status === 401 && (JSON.parse(reply.body) as { error?: string }).error === 'unauthorized') unauthorized += 1;
        else t.fail(`${method} ${path} with ${JSON.stringify(headers)} answered ${reply.status} ${reply.body.slice(0, 200)}`);
      }
    }
    t.equal(unauthorized, attempts, `all ${attempts} attempts got 401 unauthorized`);
    const ctl = (await ux.api<ExamBody>('GET', '/api/exams/CTL')).body;
    t.match(ctl, { state: 'open', events: 3 }, 'CTL is still open with its 3 events');
    t.match((await ux.api<ExamBody>('GET', '/api/exams/EXP')).body, { state: 'exported', events: exported.events }, 'EXP was not purged');
    t.notOk(student.frames.some((frame) => frame.t === 'closed'), 'the connected student was never told the exam closed');
    student.send({ t: 'ev', seq: 4, k: 'answer', q: 'Q1', v: 'v4' });
    t.match(await student.next((frame) => frame.t === 'ack' && frame.seq === 4), { seq: 4 }, 'and can still write');
    recordReliability({ kind: 'hostile', scenario: 'control API without the right bearer', inputs: attempts, outcome: `401 unauthorized: ${unauthorized}`, harmed: attempts - unauthorized });
  });

  t.test('request bodies are limited to control.maxBodyBytes', async (t) => {
    const auth = { authorization: `Bearer ${ux.adminToken}`, 'content-type': 'application/json' };
    const big = Buffer.from(JSON.stringify({ students: Array.from({ length: 2000 }, (_, i) => `S${i}`) }));
    t.ok(big.length > MAX_BODY);
    const declared = await rawRequest(port, { method: 'POST', path: '/api/exams/CTL/tokens', headers: { ...auth, 'content-length': String(big.length) }, body: big });
    t.equal(declared.status, 413, 'an announced oversize body: 413');
    // Chunked, with no end: the server must stop reading at the limit. It answers 413 and drops
    // the connection; a client still writing usually sees the reset before the answer.
    const endless = await endlessBody(port, '/api/exams/CTL/tokens', auth);
    t.ok(endless.sent < ENDLESS_LIMIT, `an endless chunked body was cut off after ${endless.sent} bytes (${endless.outcome})`);
    t.ok(endless.outcome === 'status 413' || endless.outcome.startsWith('error'), 'with 413 or a dropped connection');
    const anonymous = await endlessBody(port, '/api/exams/CTL/finalize', { 'content-type': 'application/json' });
    t.ok(anonymous.sent < ENDLESS_LIMIT, `an endless body without a token is answered without waiting for it (${anonymous.outcome} after ${anonymous.sent} bytes)`);
    t.ok(anonymous.outcome === 'status 401' || anonymous.outcome.startsWith('error'), 'with 401 or a dropped connection');
    const health = await fetch(`${ux.controlUrl}/healthz`);
    t.equal(health.status, 200, 'the control API is still healthy');
    t.match((await ux.api<ExamBody>('GET', '/api/exams/CTL')).body, { state: 'open' }, 'and CTL is still open');
  });

  t.test('hostile exam ids in paths get 400, not 500', async (t) => {
    const paths = [
      '/api/exams/%E0%A4%A',
      '/api/exams/%',
      '/api/exams/..%2F..%2Fetc',
      '/api/exams/E%00',
      '/api/exams/%7BCTL%7D',
      '/api/exams/CTL%7D%3Ameta',
      '/api/exams/*/finalize',
      '/api/exams/%2A/purge',
      `/api/exams/${'E'.repeat(65)}`,
      '/api/exams/%C3%A9',
      '/api/finalizarexamen?exam=*',
      '/api/finalizarexamen?exam=',
      '/api/finalizarexamen?exam=%E0%A4%A',
      '/api/finalizarexamen',
    ];
    let bad = 0;
    for (const path of paths) {
      const method = path.endsWith('/finalize') || path.endsWith('/purge') ? 'POST' : 'GET';
      const reply = await rawRequest(port, { method, path, headers: { authorization: `Bearer ${ux.adminToken}` } });
      if (reply.status === 400 && (JSON.parse(reply.body) as { error?: string }).error === 'bad_request') continue;
      bad += 1;
      t.fail(`${method} ${path}: ${reply.status} ${reply.body.slice(0, 200)}`);
    }
    t.equal(bad, 0, `all ${paths.length} hostile paths got 400 bad_request`);
    t.match((await ux.api<ExamBody>('GET', '/api/exams/CTL')).body, { state: 'open', events: 4 }, 'CTL untouched');
    recordReliability({ kind: 'hostile', scenario: 'control API hostile exam ids in paths', inputs: paths.length, outcome: `400 bad_request: ${paths.length - bad}`, harmed: bad });
  });

  t.test('the control API listens on 127.0.0.1 only by default', async (t) => {
    t.ok(await accepts('127.0.0.1', port), '127.0.0.1 accepts');
    t.notOk(await accepts('127.0.0.2', port), 'another loopback address is refused: not bound to 0.0.0.0');
    // /proc/net/tcp lists listening sockets (state 0A) as hex local address:port.
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    const listening = [readFileSync('/proc/net/tcp', 'utf8'), readFileSync('/proc/net/tcp6', 'utf8')]
      .join('\n')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A')
      .map((fields) => fields[1]!.split(':')[0]);
    t.same(listening, ['0100007F'], 'the one listening socket on that port is 127.0.0.1');
  });
});
