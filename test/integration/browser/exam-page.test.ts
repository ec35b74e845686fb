// The example exam page in Chromium against a real Untradex (docs/PROTOCOL.md section 7): served with
// a CSP from the gateway port, answers by keyboard, each shown "Saved" once Redis has it, submit.

import t from 'tap';
import { browserTest, launchChromium } from '../../helpers/chromium.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

const BUCKETS = 2;

t.test('the example exam page', browserTest(), async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: BUCKETS }, gateway: { connectionActors: 1 } });
  const httpBase = ux.gatewayUrl.replace(/^ws:/, 'http:').replace(/\/ws$/, '');

  t.test('the gateway port serves the client, the page and its CSP', async (t) => {
    const client = await fetch(`${httpBase}/client/untradex.js`);
    t.equal(client.status, 200);
    t.match(client.headers.get('content-type'), /^text\/javascript/);
    const code = await client.text();
    t.match(code, /export\s*\{[^}]*ExamClient/, 'an ES module exporting ExamClient');
    t.notMatch(code, /^\s*import\s/m, 'with no imports of its own');
    const page = await fetch(`${httpBase}/exam/`);
    t.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    t.match(csp, /script-src 'self'/, 'scripts only from the gateway');
    t.notMatch(csp, /unsafe-inline/, 'no inline script or style');
    t.notMatch(await page.text(), /<script>|<script [^>]*>[^<]|https?:\/\//, 'no inline script and no other origin in the page');
    t.equal((await fetch(`${httpBase}/exam`, { redirect: 'manual' })).status, 301, '/exam redirects to /exam/');
    t.equal((await fetch(`${httpBase}/nothing`)).status, 404);
    t.equal((await fetch(`${httpBase}/exam/`, { method: 'POST' })).status, 405);
    const etag = page.headers.get('etag')!;
    t.equal((await fetch(`${httpBase}/exam/`, { headers: { 'if-none-match': etag } })).status, 304, 'revalidation costs a 304');
  });

  t.test('a student answers by keyboard, sees each answer saved, and hands in', async (t) => {
    const { P1: token } = await ux.tokens('PAGE', ['P1']);
    const browser = await launchChromium(t);
    const page = await browser.newPage();
    const cspErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') cspErrors.push(message.text());
    });
    await page.goto(`${httpBase}/exam/#token=${token}`);
    await page.getByRole('status').filter({ hasText: 'Online' }).waitFor();
    t.match(await page.locator('#who').textContent(), /P1/, 'the page names the student from the token');

    await page.getByRole('radio', { name: 'Mercury' }).first().focus();
    await page.keyboard.press('Space');
    await page.locator('#Q1-state', { hasText: 'Saved' }).waitFor();
    await page.getByRole('radio', { name: 'About 8 minutes' }).check();
    await page.getByLabel('why do we have seasons').fill('The tilt of the axis.');
    await page.keyboard.press('Tab');
    await page.locator('#Q4-state', { hasText: 'Saved' }).waitFor();
    await page.locator('#Q2-state', { hasText: 'Saved' }).waitFor();

    await page.getByRole('button', { name: 'Hand in the exam' }).click();
    const dialog = page.getByRole('dialog', { name: 'Hand in your exam?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Hand in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Your exam is handed in' }).waitFor();

    const stored = (await storedEventsByStudent(ux.redis(), 'PAGE', BUCKETS)).get('P1') ?? [];
    t.same(
      stored.map((event) => [event.seq, event.kind, event.question, event.value]),
      [
        [1, 'a', 'Q1', 'B'],
        [2, 'a', 'Q2', 'B'],
        [3, 'a', 'Q4', 'The tilt of the axis.'],
        [4, 's', '', ''],
      ],
      'Redis holds each answer once, in order, then the submit',
    );
    t.same(cspErrors, [], 'no console errors (a CSP violation would show here)');
  });

  t.test('a link without a token, and a bad token, each get a clear message', async (t) => {
    const browser = await launchChromium(t);
    const page = await browser.newPage();
    await page.goto(`${httpBase}/exam/`);
    await page.getByRole('alert').filter({ hasText: 'No exam link' }).waitFor();
    await page.goto(`${httpBase}/exam/#token=v1.bad.token`);
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'This exam link is not valid' }).waitFor();
    t.ok(await page.getByRole('button', { name: 'Hand in the exam' }).isDisabled(), 'nothing can be answered');
  });
});
