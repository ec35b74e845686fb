// Takes the screenshots of the operator console that docs/OPERATIONS.md shows, in Chromium against
// a real Untradex with students writing through real sockets, into the console-*.png files of docs/images.
// Run after npm run build:   node scripts/console-screenshots.mjs

import { mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { StudentClient } from '../dist/src/client/student-client.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../dist/test/helpers/chromium.js';
import { startUntradexInProcess } from '../dist/test/helpers/untradex.js';

const OUT = new URL('../docs/images/', import.meta.url);
/** Seconds of traffic before the overview, so the chart shows a shape rather than a dot. */
const WARMUP_SECONDS = Number(process.env.UX_SHOT_WARMUP_SECONDS ?? 75);
const teardowns = [];
const host = { teardown: (fn) => teardowns.push(fn) };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` students of `exam` who connect, open the exam and answer `answers` questions. */
async function classOf(ux, exam, count, { answers = 3, submitEvery = 0, leaveEvery = 0, leaveSubmitted = false } = {}) {
  const students = Array.from({ length: count }, (_, i) => `${exam.slice(0, 3)}-${String(i + 1).padStart(4, '0')}`);
  const tokens = await ux.tokens(exam, students);
  const clients = [];
  for (let i = 0; i < students.length; i += 50) {
    await Promise.all(
      students.slice(i, i + 50).map(async (student, j) => {
        const index = i + j;
        // Reconnecting as real students do: a loaded machine may drop a socket while 800 connect at once.
        const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student] });
        teardowns.push(() => client.close());
        await client.connect();
        client.open();
        for (let q = 1; q <= answers; q += 1) client.answer(`Q${q}`, `answer ${q} of ${student}`);
        if (submitEvery > 0 && index % submitEvery === 0) client.submit();
        await client.flushed();
        if (leaveEvery > 0 && index % leaveEvery === 1) await client.close();
        // Who submitted writes no more (the server would refuse it).
        else if (!(submitEvery > 0 && index % submitEvery === 0)) clients.push(client);
        else if (leaveSubmitted) await client.close();
        else teardowns.push(() => client.close());
      }),
    );
  }
  return clients;
}

try {
  await mkdir(OUT, { recursive: true });
  const ux = await startUntradexInProcess(host, { redis: { buckets: 16 }, gateway: { connectionActors: 2, presence: { refreshMs: 500, ttlMs: 5000 } } });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  teardowns.push(() => browser.close());
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') console.error(`browser console: ${message.text()}`);
  });
  const shot = async (name, options = {}) => {
    await page.screenshot({ path: new URL(`console-${name}.png`, OUT).pathname, ...options });
    console.log(`docs/images/console-${name}.png`);
  };

  await page.goto(`${ux.controlUrl}/`);
  await page.getByLabel('Admin token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'That token was refused' }).waitFor();
  await shot('sign-in-refused');

  // Three exams of a morning: one well under way, one just started, one already exported.
  const history = await classOf(ux, 'HIST-1', 120, { answers: 4, submitEvery: 1, leaveSubmitted: true });
  await ux.api('POST', '/api/exams/HIST-1/finalize');
  const biology = await classOf(ux, 'BIO-2', 480, { answers: 3, submitEvery: 5, leaveEvery: 12 });
  const chemistry = await classOf(ux, 'CHEM-3', 240, { answers: 1, submitEvery: 0, leaveEvery: 40 });

  await page.getByLabel('Admin token').fill(ux.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('table', { name: 'Exams' }).waitFor();

  // Answers keep coming, in waves, as students work through the paper.
  const started = Date.now();
  let tick = 0;
  while (Date.now() - started < WARMUP_SECONDS * 1000) {
    tick += 1;
    const wave = 0.5 + 0.5 * Math.sin(tick / 6);
    const writers = [...biology, ...chemistry].filter((_, i) => (i * 7 + tick) % 10 < wave * 10);
    for (const client of writers) client.answer(`Q${(tick % 6) + 1}`, `draft ${tick}`);
    await sleep(1000);
  }
  await page.getByRole('row', { name: /HIST-1/ }).getByText('exported').waitFor();
  await page.mouse.move(0, 0);
  await shot('overview');

  await page.getByRole('button', { name: 'Students of BIO-2' }).click();
  const roster = page.getByRole('table', { name: 'Students of BIO-2' });
  await roster.getByRole('row').nth(1).waitFor();
  await page.getByRole('radio', { name: 'Not submitted' }).check();
  await page.getByText('Page 1:').waitFor();
  await sleep(500);
  await page.getByRole('heading', { name: 'Students of BIO-2' }).evaluate((heading) => heading.closest('section').scrollIntoView({ block: 'start' }));
  await shot('roster');
  await page.getByRole('button', { name: 'Close' }).click();

  await page.evaluate(() => window.scrollTo(0, 0));
  await page.getByRole('button', { name: 'Finalize CHEM-3' }).click();
  await page.getByRole('dialog').waitFor();
  await shot('finalize-dialog');
  await page.getByRole('dialog').getByRole('button', { name: 'Finalize', exact: true }).click();
  const bar = page.getByRole('progressbar', { name: 'Export of CHEM-3' });
  await bar.waitFor();
  while ((await bar.getAttribute('aria-valuenow')) !== '100') await sleep(100);
  await page.getByRole('row', { name: /CHEM-3/ }).getByText('exported').waitFor();
  await page.getByRole('table', { name: 'Exams' }).screenshot({ path: new URL('console-exported.png', OUT).pathname });
  console.log('docs/images/console-exported.png');

  await page.getByRole('button', { name: 'Purge HIST-1' }).click();
  await page.getByRole('dialog').waitFor();
  await shot('purge-dialog');
  await page.getByRole('dialog').getByRole('button', { name: 'Purge', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'HIST-1 is purged' }).waitFor();

  // What goes wrong, on a second server whose result database is a path that cannot exist.
  const broken = await startUntradexInProcess(host, {
    redis: { buckets: 4 },
    gateway: { connectionActors: 1 },
    export: { sqlite: { path: '/dev/null/untradex/results.db' }, retry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 200 } },
  });
  await classOf(broken, 'LAB-4', 30, { answers: 2, submitEvery: 2 });
  const second = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
  await second.goto(`${broken.controlUrl}/`);
  await second.getByLabel('Admin token').fill(broken.adminToken);
  await second.getByRole('button', { name: 'Sign in' }).click();
  await second.getByRole('article', { name: 'Database' }).getByText('unreachable', { exact: true }).waitFor({ timeout: 60_000 });
  await second.getByRole('button', { name: 'Finalize LAB-4' }).click();
  await second.getByRole('dialog').getByRole('button', { name: 'Finalize', exact: true }).click();
  await second.getByRole('row', { name: /LAB-4/ }).getByText('failed', { exact: true }).waitFor({ timeout: 60_000 });
  await second.mouse.move(0, 0);
  await second.screenshot({ path: new URL('console-failed.png', OUT).pathname });
  console.log('docs/images/console-failed.png');

  await broken.app.stop();
  await second.getByText('Not updated since').waitFor({ timeout: 30_000 });
  await second.screenshot({ path: new URL('console-unreachable.png', OUT).pathname, clip: { x: 0, y: 0, width: 1440, height: 420 } });
  console.log('docs/images/console-unreachable.png');
} finally {
  for (const fn of teardowns.reverse()) {
    try {
      await fn();
    } catch {
      // closing what already closed
    }
  }
}
process.exit(0);
