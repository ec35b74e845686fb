// gateway.tls (docs/PROTOCOL.md section 6): with a certificate the student port speaks https:// and
// wss://; a renewed certificate is used for new connections while open sockets carry on; the
// example page works over https in Chromium. Certificates are self-signed, made here with openssl.

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import t from 'tap';
import { WebSocket } from 'ws';
import { browserTest, launchChromium } from '../../helpers/chromium.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

async function selfSigned(dir: string, name: string): Promise<{ certFile: string; keyFile: string; cert: string }> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8') };
}

/** The certificate the server presents to a new TLS connection, as its SHA-256 fingerprint. */
function presentedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string; csp: string | undefined }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode!, body, csp: response.headers['content-security-policy'] as string | undefined }));
    }).on('error', reject);
  });
}

t.test('the gateway port over TLS', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ux-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const first = await selfSigned(dir, 'first');
  // The files the gateway is configured with; a renewal overwrites them in place.
  const certFile = join(dir, 'gateway.crt');
  const keyFile = join(dir, 'gateway.key');
  await writeFile(certFile, first.cert);
  await writeFile(keyFile, await readFile(first.keyFile));
  const ux = await startUntradexInProcess(t, { redis: { buckets: 2 }, gateway: { connectionActors: 1, tls: { certFile, keyFile } } });
  const port = Number(new URL(ux.gatewayUrl).port);
  const [token] = Object.values(await ux.tokens('TLS', ['T1']));

  t.test('https serves the page and the client; wss takes events', async (t) => {
    const page = await httpsGet(`https://127.0.0.1:${port}/exam/`, first.cert);
    t.equal(page.status, 200);
    t.match(page.csp, /script-src 'self'/);
    t.equal((await httpsGet(`https://127.0.0.1:${port}/client/untradex.js`, first.cert)).status, 200);
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ca: first.cert });
    t.teardown(() => ws.terminate());
    const frames: Array<Record<string, unknown>> = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ t: 'hello', token }));
    ws.send(JSON.stringify({ t: 'ev', seq: 1, k: 'answer', q: 'Q1', v: 'over wss' }));
    for (let i = 0; i < 100 && !frames.some((f) => f.t === 'ack'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    t.match(frames, [{ t: 'welcome', student: 'T1' }, { t: 'ack', seq: 1 }], 'welcome, then the ack of a durable event');
  });

  t.test('a renewed certificate is used for new connections; open sockets carry on', async (t) => {
    const before = await presentedFingerprint(port);
    t.equal(before, new X509Certificate(first.cert).fingerprint256);
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ca: first.cert });
    t.teardown(() => ws.terminate());
    const acks: number[] = [];
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { t: string; seq?: number };
      if (frame.t === 'ack') acks.push(frame.seq!);
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ t: 'hello', token }));

    const second = await selfSigned(dir, 'second');
    await writeFile(keyFile, await readFile(second.keyFile));
    await writeFile(certFile, second.cert);
    const wanted = new X509Certificate(second.cert).fingerprint256;
    let now = before;
    for (let i = 0; i < 100 && now !== wanted; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      now = await presentedFingerprint(port);
    }
    t.equal(now, wanted, 'new connections get the renewed certificate');
    ws.send(JSON.stringify({ t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: 'after the renewal' }));
    for (let i = 0; i < 100 && !acks.includes(2); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    t.ok(acks.includes(2), 'the socket opened before the renewal still works');
  });

  t.test('the exam page over https in Chromium (self-signed certificate accepted for the test)', browserTest(), async (t) => {
    const browser = await launchChromium(t);
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(`https://127.0.0.1:${port}/exam/#token=${token}`);
    await page.getByRole('status').filter({ hasText: 'Online' }).waitFor();
    await page.getByRole('radio', { name: 'Jupiter' }).check();
    await page.locator('#Q3-state', { hasText: 'Saved' }).waitFor();
    t.equal(await page.evaluate('location.protocol'), 'https:', 'the page came over https and its client connected over wss');
  });
});
