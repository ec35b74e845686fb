// Takes screenshots of the example exam page in Chromium in each of its states (online, saved,
// offline, replaced, closed) against a real Untradex, into docs/images/. Run after npm run build:
//   node scripts/exam-page-screenshots.mjs

import { mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../dist/test/helpers/chromium.js';
import { freePort } from '../dist/test/helpers/free-port.js';
import { TcpProxy } from '../dist/test/helpers/tcp-proxy.js';
import { startUntradexInProcess } from '../dist/test/helpers/untradex.js';

const OUT = new URL('../docs/images/', import.meta.url);
const teardowns = [];
const host = { teardown: (fn) => teardowns.push(fn) };

try {
  await mkdir(OUT, { recursive: true });
  const ux = await startUntradexInProcess(host, { redis: { buckets: 2 }, gateway: { connectionActors: 1 } });
  const proxy = new TcpProxy(await freePort(), '127.0.0.1', Number(new URL(ux.gatewayUrl).port), 'http');
  await proxy.up();
  teardowns.push(() => proxy.down());
  const { S1: token } = await ux.tokens('DEMO', ['S1']);
  const url = `http://127.0.0.1:${proxy.port}/exam/#token=${token}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  teardowns.push(() => browser.close());
  const viewport = { width: 900, height: 1000 };
  const page = await (await browser.newContext({ viewport })).newPage();
  const shot = async (p, name) => {
    await p.screenshot({ path: new URL(`exam-${name}.png`, OUT).pathname, fullPage: false });
    console.log(`docs/images/exam-${name}.png`);
  };

  await page.goto(url);
  await page.getByRole('status').filter({ hasText: 'Online' }).waitFor();
  await shot(page, 'online');

  await page.getByRole('radio', { name: 'Mercury' }).check();
  await page.getByRole('radio', { name: 'About 8 minutes' }).check();
  await page.locator('#Q2-state', { hasText: 'Saved' }).waitFor();
  await shot(page, 'saved');

  proxy.refuseUpgrades(true);
  await page.getByRole('alert').filter({ hasText: 'You are offline' }).waitFor();
  await page.getByRole('radio', { name: 'Jupiter' }).check();
  await page.getByLabel('why do we have seasons').fill('Because the Earth\'s axis is tilted, so each half gets more direct sunlight for part of the year.');
  await page.getByLabel('why do we have seasons').blur();
  await page.locator('#Q4-state', { hasText: 'Kept on this device' }).waitFor();
  await shot(page, 'offline');

  proxy.refuseUpgrades(false);
  await page.locator('#Q4-state', { hasText: 'Saved' }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Hand in the exam' }).click();
  await page.getByRole('dialog').waitFor();
  await shot(page, 'confirm');
  await page.getByRole('dialog').getByRole('button', { name: 'Keep working' }).click();

  const second = await (await browser.newContext({ viewport })).newPage();
  await second.goto(url);
  await page.getByRole('alert').filter({ hasText: 'another tab or device' }).waitFor();
  await shot(page, 'replaced');

  await second.getByRole('status').filter({ hasText: 'Online' }).waitFor();
  await ux.api('POST', '/api/exams/DEMO/finalize');
  await second.getByRole('alert').filter({ hasText: 'The exam is closed' }).waitFor();
  await shot(second, 'closed');

  const bad = await (await browser.newContext({ viewport })).newPage();
  await bad.goto(`http://127.0.0.1:${proxy.port}/exam/#token=v1.expired.token`);
  await bad.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
  await shot(bad, 'unauthorized');
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
process.exit(0);
