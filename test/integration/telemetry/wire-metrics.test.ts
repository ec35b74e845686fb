// The gateway's latency histograms and frame counts, read from a running Untradex after a real
// student's traffic: one ack-latency count per acked event, one welcome count per welcome, nacks,
// errs and closes by code, the same on /api/status and on /metrics (cumulative buckets); and the
// stages before a welcome (accepted to 101 written, 101 to hello read), each timed where it waits.

import { connect as connectTcp } from 'node:net';
import t from 'tap';
import type { SystemStatus } from '../../../src/control/control-backend.js';
import { connectRaw, helloRaw } from '../../helpers/raw-student.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

/** Samples of one metric family on /metrics: labels (as text) to value. */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) found.set(match[1] ?? '', Number(match[2]));
  return found;
}

t.test('ack and welcome latency, nacks, errs and closes by code reach /api/status and /metrics', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 2 }, gateway: { connectionActors: 2 } });
  const status = async () => (await ux.api<SystemStatus>('GET', '/api/status')).body;
  const before = await status();
  t.equal(before.latency.ack.count, 0, 'no ack yet');
  t.equal(before.latency.welcome.count, 0, 'no welcome yet');

  const { S1: token } = await ux.tokens('WM', ['S1']);
  const { student, welcome } = await helloRaw(ux.gatewayUrl, token!);
  t.equal(welcome.t, 'welcome');
  for (let seq = 1; seq <= 5; seq += 1) student.send({ t: 'ev', seq, k: 'answer', q: 'Q1', v: `v${seq}` });
  await student.next((frame) => frame.t === 'ack' && frame.seq === 5);
  student.send({ t: 'ev', seq: 6, k: 'submit' });
  await student.next((frame) => frame.t === 'ack' && frame.seq === 6);
  student.send({ t: 'ev', seq: 7, k: 'answer', q: 'Q1', v: 'late' });
  await student.next((frame) => frame.t === 'nack' && frame.seq === 7);
  student.close();
  t.equal((await student.closed).code, 1005, 'the client closed without a code');

  // A token that can never verify (one whose signature tail is changed to AA stays valid if it ended in AA).
  const forged = await connectRaw(ux.gatewayUrl);
  forged.send({ t: 'hello', token: 'v1.forged.token' });
  t.match(await forged.next((frame) => frame.t !== undefined), { t: 'err', code: 'unauthorized' });
  t.equal((await forged.closed).code, 4401);

  // The server sees the closes a moment after the clients do: wait for both, whatever the time.
  let after = await status();
  while (after.frames.closes['1005'] === 0 || after.frames.closes['4401'] === 0) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    after = await status();
  }
  t.equal(after.latency.ack.count, 6, 'six acked events (seq 1-6), counted once each');
  t.equal(after.latency.ack.counts.reduce((total, count) => total + count, 0), 6, 'the buckets hold every count');
  t.ok(after.latency.ack.sumMs > 0, 'acks took some time');
  t.equal(after.latency.welcome.count, 1, 'one welcome (the forged hello got none)');
  t.same(after.frames.nacks, { exam_closed: 0, submitted: 1, bad_event: 0 });
  t.equal(after.frames.errs.unauthorized, 1);
  t.equal(after.frames.closes['4401'], 1, 'the server closed the forged hello with 4401');
  t.equal(after.frames.closes['1005'], 1, 'the student closed with no code');

  const text = await (await fetch(`${ux.controlUrl}/metrics`)).text();
  const buckets = samples(text, 'ux_ack_latency_seconds_bucket');
  const bounds = after.latency.ack.boundsMs;
  t.equal(buckets.size, bounds.length + 1, 'a bucket per bound and +Inf');
  let cumulative = 0;
  bounds.forEach((ms, index) => {
    cumulative += after.latency.ack.counts[index]!;
    t.equal(buckets.get(`le="${ms / 1000}"`), cumulative, `le=${ms / 1000} s is cumulative`);
  });
  t.equal(buckets.get('le="+Inf"'), 6);
  t.same([...samples(text, 'ux_ack_latency_seconds_count').values()], [6]);
  t.same([...samples(text, 'ux_welcome_latency_seconds_count').values()], [1]);
  t.equal(samples(text, 'ux_nacks_total').get('code="submitted"'), 1);
  t.equal(samples(text, 'ux_errs_total').get('code="unauthorized"'), 1);
  t.equal(samples(text, 'ux_closes_total').get('code="4401"'), 1);
  t.equal(samples(text, 'ux_events_stored_total').get(''), 6, 'the status counters are still there');

  // The export figures: every bucket and row of the finalize, on both.
  t.same(after.export, { rows: 0, bucketsDone: 0, bucketErrors: {}, running: 0, rowsPerSecond: 0 }, 'no export yet');
  t.equal((await ux.api('POST', '/api/exams/WM/finalize')).status, 202);
  let exam = (await ux.api<{ state: string; export: { rows: number } }>('GET', '/api/exams/WM')).body;
  while (exam.state !== 'exported') {
    await new Promise((resolve) => setTimeout(resolve, 50));
    exam = (await ux.api<{ state: string; export: { rows: number } }>('GET', '/api/exams/WM')).body;
  }
  t.ok(exam.export.rows > 0, `the export wrote rows (${exam.export.rows})`);
  const exported = await status();
  t.match(exported.export, { rows: exam.export.rows, bucketsDone: 2, bucketErrors: {}, running: 0 });
  const afterExport = await (await fetch(`${ux.controlUrl}/metrics`)).text();
  t.equal(samples(afterExport, 'ux_export_rows_total').get(''), exam.export.rows);
  t.equal(samples(afterExport, 'ux_export_buckets_done_total').get(''), 2);
  t.equal(samples(afterExport, 'ux_exports_running').get(''), 0);
});

/**
 * Waits at least `ms` by the clock: a timer can fire a few ms early by it, since it counts from
 * the loop's cached time (one run in CI read 294 ms for a 300 ms timer).
 */
async function atLeast(ms: number): Promise<void> {
  const start = performance.now();
  for (let left = ms; left > 0; left = ms - (performance.now() - start)) await new Promise((resolve) => setTimeout(resolve, Math.ceil(left) + 1));
}

t.test('the upgrade and the wait for the hello are timed apart: a slow request and a slow hello land in their own histograms', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 2 }, gateway: { connectionActors: 1 } });
  const status = async () => (await ux.api<SystemStatus>('GET', '/api/status')).body;
  const before = await status();
  t.equal(before.latency.upgrade.count, 0, 'no upgrade yet');
  t.equal(before.latency.helloWait.count, 0, 'no hello yet');
  const { S1: token } = await ux.tokens('WU', ['S1']);

  // A client that sends its upgrade request in two halves 300 ms apart: the upgrade took >= 300 ms,
  // and its hello (sent at once after the 101) waited next to nothing. The socket first gets a
  // page answered (kept alive), so the 300 ms surely start after the gateway stamped it.
  const { hostname, port } = new URL(ux.gatewayUrl);
  const socket = connectTcp({ host: hostname, port: Number(port) });
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const received: Buffer[] = [];
  socket.on('data', (data: Buffer) => received.push(data));
  const answer = async (whole: (text: string) => boolean): Promise<string> => {
    for (;;) {
      const text = Buffer.concat(received).toString('latin1');
      if (whole(text)) {
        received.length = 0;
        return text;
      }
      await new Promise((resolve) => socket.once('data', resolve));
    }
  };
  socket.write(`GET /no-such-page HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
  const page = await answer((text) => {
    const head = text.indexOf('\r\n\r\n');
    const length = /content-length: (\d+)/i.exec(text);
    return head !== -1 && length !== null && text.length >= head + 4 + Number(length[1]);
  });
  t.match(page, /^HTTP\/1\.1 404 /, 'a page first, on a kept-alive socket');
  const request = `GET /ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
  socket.write(request.slice(0, 20));
  await atLeast(300);
  socket.write(request.slice(20));
  t.match(await answer((text) => text.includes('\r\n\r\n')), /^HTTP\/1\.1 101 /, 'the dribbled request was upgraded');
  let upgraded = await status();
  t.equal(upgraded.latency.upgrade.count, 1, 'one upgrade timed');
  t.ok(upgraded.latency.upgrade.sumMs >= 300, `it counts from the page's answer, before the request was whole (${upgraded.latency.upgrade.sumMs.toFixed(1)} ms)`);
  t.equal(upgraded.latency.helloWait.count, 0, 'no hello read yet');
  socket.destroy();

  // A student that waits 300 ms after its upgrade before its hello: that wait is the hello's, not the upgrade's.
  const slow = await connectRaw(ux.gatewayUrl);
  await atLeast(300);
  slow.send({ t: 'hello', token: token! });
  t.equal((await slow.next((frame) => frame.t !== undefined)).t, 'welcome');
  upgraded = await status();
  t.equal(upgraded.latency.upgrade.count, 2, 'two upgrades timed');
  t.equal(upgraded.latency.helloWait.count, 1, 'one hello read');
  t.ok(upgraded.latency.helloWait.sumMs >= 300, `the hello waited from the 101 (${upgraded.latency.helloWait.sumMs.toFixed(1)} ms)`);
  t.equal(upgraded.latency.welcome.count, 1, 'and its welcome went out');
  slow.close();

  const text = await (await fetch(`${ux.controlUrl}/metrics`)).text();
  t.same([...samples(text, 'ux_upgrade_latency_seconds_count').values()], [2], 'the upgrade histogram on /metrics');
  t.same([...samples(text, 'ux_hello_wait_seconds_count').values()], [1], 'the hello-wait histogram on /metrics');
  t.equal(samples(text, 'ux_hello_wait_seconds_bucket').get('le="0.25"'), 0, 'its one count is above 250 ms');
});
