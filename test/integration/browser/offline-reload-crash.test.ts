// Issue 11 item 8 in a real browser, on the example exam page: answer online; the network refuses
// WebSockets (pages still load); answer offline; reload; answer; SIGKILL the browser and start it
// again on the same profile; network back: every answer stored exactly once in Redis. Then the same
// token in a second browser gets the answers back and the first tab goes to `replaced`; finalize
// puts exactly those answers in the SQLite sink.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import t from 'tap';
import { browserTest, launchChromium, launchChromiumProcess, temporaryProfile } from '../../helpers/chromium.js';
import { freePort } from '../../helpers/free-port.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

const BUCKETS = 2;
const EXAM = 'CRASH';

// The file's own timeout too: the runner's default (package.json, 180 s) would end it first.
t.setTimeout(450_000);

const questionState = (page: Page, question: string, text: string) => page.locator(`#${question}-state`, { hasText: text }).waitFor({ timeout: 30_000 });

// Three Chromium starts, a reload and an export: minutes on a loaded 2-core box, not the default 3.
t.test('answers survive offline, a reload and a killed browser, and reach the sink exactly once', { ...browserTest(), timeout: 420_000 }, async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: BUCKETS }, gateway: { connectionActors: 1 } });
  const gatewayPort = Number(new URL(ux.gatewayUrl).port);
  const proxy = new TcpProxy(await freePort(), '127.0.0.1', gatewayPort, 'http');
  await proxy.up();
  t.teardown(() => proxy.down());
  const { S1: token } = await ux.tokens(EXAM, ['S1']);
  const examUrl = `http://127.0.0.1:${proxy.port}/exam/#token=${token}`;
  const profile = await temporaryProfile(t);

  // 1. Online: an answer is saved.
  let chromium = await launchChromiumProcess(t, profile);
  let page = await chromium.context.newPage();
  await page.goto(examUrl);
  await page.getByRole('status').filter({ hasText: 'Online' }).waitFor();
  await page.getByRole('radio', { name: 'Mercury' }).check();
  await questionState(page, 'Q1', 'Saved');

  // 2. The network refuses WebSockets: the page says so, and an answer is kept on the device.
  proxy.refuseUpgrades(true);
  await page.getByRole('alert').filter({ hasText: 'You are offline' }).waitFor();
  await page.getByRole('radio', { name: 'About 8 minutes' }).check();
  await questionState(page, 'Q2', 'Kept on this device');

  // 3. Reload while offline: both answers are still shown, and one more is kept.
  await page.reload();
  await page.getByRole('alert').filter({ hasText: 'You are offline' }).waitFor();
  t.ok(await page.getByRole('radio', { name: 'Mercury' }).isChecked(), 'after the reload the saved answer shows');
  t.ok(await page.getByRole('radio', { name: 'About 8 minutes' }).isChecked(), 'and so does the kept one');
  await questionState(page, 'Q2', 'Kept on this device');
  await page.getByRole('radio', { name: 'Jupiter' }).check();
  await questionState(page, 'Q3', 'Kept on this device');

  // 4. SIGKILL the browser, start it again on the same profile: the kept answers are still there.
  await chromium.kill();
  chromium = await launchChromiumProcess(t, profile);
  page = await chromium.context.newPage();
  await page.goto(examUrl);
  await questionState(page, 'Q3', 'Kept on this device');
  await questionState(page, 'Q2', 'Kept on this device');
  t.ok(await page.getByRole('radio', { name: 'Jupiter' }).isChecked(), 'the answer kept just before the kill survived it');

  // 5. The network is back: everything is sent, each answer once.
  proxy.refuseUpgrades(false);
  // What the browser does when its network comes back; the client then skips the rest of its backoff.
  await page.evaluate("dispatchEvent(new Event('online'))");
  await page.getByRole('status').filter({ hasText: 'Online' }).waitFor({ timeout: 30_000 });
  for (const question of ['Q1', 'Q2', 'Q3']) await questionState(page, question, 'Saved');
  t.ok(proxy.refusedUpgrades > 0, `the proxy refused ${proxy.refusedUpgrades} WebSocket upgrades meanwhile`);
  const stored = (await storedEventsByStudent(ux.redis(), EXAM, BUCKETS)).get('S1') ?? [];
  t.same(
    stored.map((event) => [event.seq, event.question, event.value]),
    [
      [1, 'Q1', 'B'],
      [2, 'Q2', 'B'],
      [3, 'Q3', 'A'],
    ],
    'Redis holds the three answers, each exactly once, in the order given',
  );

  // 6. The same token on another device gets the answers back; the first tab is told it was replaced.
  const other = await launchChromium(t);
  const second = await other.newPage();
  await second.goto(examUrl);
  await second.getByRole('status').filter({ hasText: 'Online' }).waitFor();
  await questionState(second, 'Q3', 'Saved');
  t.ok(await second.getByRole('radio', { name: 'Mercury' }).isChecked(), 'resume: Q1 on the new device');
  t.ok(await second.getByRole('radio', { name: 'About 8 minutes' }).isChecked(), 'resume: Q2 on the new device');
  t.ok(await second.getByRole('radio', { name: 'Jupiter' }).isChecked(), 'resume: Q3 on the new device');
  await page.getByRole('alert').filter({ hasText: 'This exam is open in another tab or device' }).waitFor();
  t.equal(await page.evaluate('untradexClient.status'), 'replaced', 'the first tab went to replaced');
  t.equal(await second.evaluate('untradexClient.status'), 'online', 'the new device stays online');

  // 7. Finalize: the sink holds exactly those answers and events.
  const finalize = await ux.api('POST', `/api/exams/${EXAM}/finalize`);
  t.equal(finalize.status, 202);
  for (let i = 0; i < 200; i++) {
    const { body } = await ux.api<{ state: string }>('GET', `/api/exams/${EXAM}`);
    if (body.state === 'exported' || body.state === 'failed') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const db = new Database(join(ux.dataDir, 'results.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  t.same(
    db.prepare('SELECT question_id, value, seq FROM ux_answers WHERE exam_id = ? ORDER BY question_id').all(EXAM),
    [
      { question_id: 'Q1', value: 'B', seq: 1 },
      { question_id: 'Q2', value: 'B', seq: 2 },
      { question_id: 'Q3', value: 'A', seq: 3 },
    ],
    'the sink holds each answer once',
  );
  t.same(db.prepare('SELECT seq FROM ux_events WHERE exam_id = ? ORDER BY seq').all(EXAM), [{ seq: 1 }, { seq: 2 }, { seq: 3 }], 'and each event once');
  await second.getByRole('alert').filter({ hasText: 'The exam is closed' }).waitFor();
});
