// The operator console (docs/PROTOCOL.md section 8) in Chromium against a real Untradex, driven only
// through its accessible names: sign in (a wrong token refused), an exam's counts as students write
// on real sockets, the roster paged and filtered, finalize through the dialog to a bar at 100, purge.

import t, { type Test } from 'tap';
import type { Locator, Page } from 'playwright-core';
import { StudentClient } from '../../../src/client/student-client.js';
import type { ExamSummary } from '../../../src/protocol/exam-summary.js';
import { browserTest, launchChromium } from '../../helpers/chromium.js';
import { startUntradexInProcess, type ControlClient } from '../../helpers/untradex.js';

/** Generous: the console refreshes every 1-2 s and presence within 10 s; a loaded CI box is slow. */
const SETTLE_MS = 30_000;

/** Students who connect, answer Q1, submit when asked, and leave when asked. */
async function writeStudents(t: Test, ux: ControlClient & { gatewayUrl: string }, exam: string, students: string[], plan: { submit: Set<string>; leave: Set<string> }): Promise<Map<string, StudentClient>> {
  const tokens = await ux.tokens(exam, students);
  const clients = new Map<string, StudentClient>();
  await Promise.all(
    students.map(async (student) => {
      const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]!, reconnect: false });
      t.teardown(() => client.close());
      await client.connect();
      client.answer('Q1', `answer of ${student}`);
      if (plan.submit.has(student)) client.submit();
      await client.flushed();
      if (plan.leave.has(student)) await client.close();
      else clients.set(student, client);
    }),
  );
  return clients;
}

/** The exam view once `connected` reads what the test set up (presence settles within 10 s). */
async function examOnceConnected(ux: ControlClient, exam: string, connected: number): Promise<ExamSummary> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const view = (await ux.api<ExamSummary>('GET', `/api/exams/${exam}`)).body;
    if (view.connected === connected || Date.now() > deadline) return view;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The row of an exam in the exam table, by its row header. */
function examRow(page: Page, exam: string): Locator {
  return page.getByRole('table', { name: 'Exams' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name: exam, exact: true }) });
}

/** Waits until the row's cells (state, students, connected, submitted, events) read `expected`. */
async function waitForCells(row: Locator, expected: string[]): Promise<string[]> {
  const deadline = Date.now() + SETTLE_MS;
  let cells: string[] = [];
  while (Date.now() < deadline) {
    cells = (await row.getByRole('cell').allInnerTexts()).slice(0, expected.length).map((text) => text.trim());
    if (JSON.stringify(cells) === JSON.stringify(expected)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return cells;
}

/** The student names on the roster's screen once it shows `count` of them. */
async function rosterNames(page: Page, exam: string, count: number): Promise<string[]> {
  const names = page.getByRole('table', { name: `Students of ${exam}` }).getByRole('rowheader');
  const deadline = Date.now() + SETTLE_MS;
  while ((await names.count()) !== count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return names.allInnerTexts();
}

t.test('the operator console', browserTest(), async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 4 }, gateway: { connectionActors: 1, presence: { refreshMs: 100, ttlMs: 60_000 } } });

  t.test('GET / serves the console from the package under a strict CSP; the API still needs the token', async (t) => {
    const page = await fetch(`${ux.controlUrl}/`);
    t.equal(page.status, 200);
    t.match(page.headers.get('content-type'), /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    t.match(csp, /default-src 'self'/);
    t.match(csp, /script-src 'self'/);
    t.match(csp, /frame-ancestors 'none'/);
    t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script or style');
    const html = await page.text();
    t.notMatch(html, /<script>|<script [^>]*>[^<]|\sstyle=|\son[a-z]+=|https?:\/\//, 'no inline script, style attribute, handler or other origin');
    for (const [path, type] of [['/console/console.js', /^text\/javascript/], ['/console/base.css', /^text\/css/], ['/console/console.css', /^text\/css/], ['/console/uplot.css', /^text\/css/]] as const) {
      const asset = await fetch(`${ux.controlUrl}${path}`);
      t.equal(asset.status, 200, path);
      t.match(asset.headers.get('content-type'), type, `${path} type`);
    }
    const etag = page.headers.get('etag')!;
    t.equal((await fetch(`${ux.controlUrl}/`, { headers: { 'if-none-match': etag } })).status, 304, 'revalidation costs a 304');
    t.equal((await fetch(`${ux.controlUrl}/`, { method: 'POST' })).status, 405);
    t.equal((await fetch(`${ux.controlUrl}/api/status`)).status, 401, 'loading the console opens no API');
  });

  t.test('sign in, counts, roster, finalize to 100, purge', async (t) => {
    // CON-A: six students; S1 and S2 submit; S4-S6 leave. CON-B: 70 who answered and left (two roster screens).
    const studentsA = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6'];
    const clientsA = await writeStudents(t, ux, 'CON-A', studentsA, { submit: new Set(['S1', 'S2']), leave: new Set(['S4', 'S5', 'S6']) });
    const studentsB = Array.from({ length: 70 }, (_, i) => `B${String(i).padStart(2, '0')}`);
    await writeStudents(t, ux, 'CON-B', studentsB, { submit: new Set(), leave: new Set(studentsB) });
    const viewA = await examOnceConnected(ux, 'CON-A', 3);
    t.match(viewA, { state: 'open', students: 6, submitted: 2, connected: 3 }, 'the API agrees with what the students did');
    await examOnceConnected(ux, 'CON-B', 0);

    const browser = await launchChromium(t);
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    let expectRefusal = false;
    page.on('console', (message) => {
      // Chromium logs the wrong token's 401 as a failed resource; nothing else may show.
      if (message.type() === 'error' && !(expectRefusal && /status of 401/.test(message.text()))) errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    // Browser code as strings: the test project compiles without the DOM's types.
    await page.addInitScript("document.addEventListener('securitypolicyviolation', (event) => console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI))");
    await page.goto(`${ux.controlUrl}/`);

    // A wrong token is refused in words, and not kept.
    expectRefusal = true;
    await page.getByLabel('Admin token').fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'That token was refused' }).waitFor();
    t.equal(await page.evaluate('sessionStorage.length'), 0, 'a refused token is not kept');
    expectRefusal = false;

    // Signing in by keyboard alone: type, Enter.
    await page.getByLabel('Admin token').fill(ux.adminToken);
    await page.getByLabel('Admin token').press('Enter');
    await page.getByRole('table', { name: 'Exams' }).waitFor();
    t.notOk(await page.getByLabel('Admin token').isVisible(), 'the sign-in form is gone');
    t.equal(await page.evaluate('document.cookie'), '', 'no cookie');

    const rowA = examRow(page, 'CON-A');
    t.same(await waitForCells(rowA, ['open', '6', '3', '2', String(viewA.events)]), ['open', '6', '3', '2', String(viewA.events)], 'CON-A: state, students, connected, submitted, events');
    t.same(await waitForCells(examRow(page, 'CON-B'), ['open', '70', '0', '0']), ['open', '70', '0', '0'], 'CON-B');
    t.equal(await page.getByRole('button', { name: 'Purge CON-B' }).count(), 0, 'no Purge for an open exam');
    await page.getByRole('img', { name: /Events per second over the last 5 minutes/ }).waitFor();
    await page.getByRole('meter', { name: 'Ring fill' }).waitFor();
    await page.getByRole('article', { name: 'Redis' }).getByText('ready', { exact: true }).waitFor();
    await page.getByRole('article', { name: 'Database' }).getByText('reachable', { exact: true }).waitFor({ timeout: SETTLE_MS });
    await page.getByRole('table', { name: 'Actors' }).getByRole('rowheader', { name: 'connection-0' }).waitFor();

    // The live figures follow the system: one more student connects, and the console shows it.
    const connections = page.getByRole('article', { name: 'Connections' });
    await connections.getByText('3', { exact: true }).waitFor({ timeout: SETTLE_MS });
    const late = await writeStudents(t, ux, 'CON-A', ['S7'], { submit: new Set(), leave: new Set() });
    await connections.getByText('4', { exact: true }).waitFor({ timeout: SETTLE_MS });
    t.pass('Connections went from 3 to 4 without a reload');
    await late.get('S7')!.close();
    await waitForCells(rowA, ['open', '7', '3', '2']);

    // A reload keeps the session (sessionStorage), and needs no token typed again.
    await page.reload();
    await examRow(page, 'CON-A').waitFor();

    t.test('the roster: all, not submitted, not connected', async (t) => {
      await page.getByRole('button', { name: 'Students of CON-A' }).click();
      t.same((await rosterNames(page, 'CON-A', 7)).sort(), ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7'], 'every student once');
      await page.getByRole('radio', { name: 'Not submitted' }).check();
      t.same((await rosterNames(page, 'CON-A', 5)).sort(), ['S3', 'S4', 'S5', 'S6', 'S7'], 'not submitted');
      await page.getByRole('radio', { name: 'Not connected' }).check();
      t.same((await rosterNames(page, 'CON-A', 4)).sort(), ['S4', 'S5', 'S6', 'S7'], 'not connected');
      await page.getByRole('radio', { name: 'All' }).check();

      await page.getByRole('button', { name: 'Students of CON-B' }).click();
      const first = await rosterNames(page, 'CON-B', 50);
      t.equal(first.length, 50, 'a screen holds 50 students, never the whole exam');
      // By keyboard: focus the button, Enter.
      await page.getByRole('button', { name: 'Next page' }).focus();
      await page.keyboard.press('Enter');
      const second = await rosterNames(page, 'CON-B', 20);
      t.same([...first, ...second].sort(), studentsB, 'both screens together hold each of the 70 exactly once');
      t.ok(await page.getByRole('button', { name: 'Next page' }).isDisabled(), 'no page after the last');
      await page.getByRole('button', { name: 'Previous page' }).click();
      t.same(await rosterNames(page, 'CON-B', 50), first, 'Previous page shows the first screen again');
      await page.getByRole('region', { name: 'Students of CON-B' }).getByRole('button', { name: 'Close' }).click();
      t.notOk(await page.getByRole('region', { name: 'Students of CON-B' }).isVisible(), 'closed');
    });

    t.test('finalize through the dialog: Escape cancels, Finalize exports, the bar reaches 100', async (t) => {
      await page.getByRole('button', { name: 'Finalize CON-A' }).click();
      const dialog = page.getByRole('dialog', { name: 'Finalize CON-A?' });
      await dialog.waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      t.equal((await ux.api<ExamSummary>('GET', '/api/exams/CON-A')).body.state, 'open', 'Escape finalized nothing');

      // Every value the bar takes, recorded in the page as it changes.
      await page.evaluate(`
        window.progressSeen = [];
        new MutationObserver(() => {
          const bar = document.querySelector('[role="progressbar"][aria-label="Export of CON-A"]');
          const value = bar === null || bar.hidden ? null : bar.getAttribute('aria-valuenow');
          if (value !== null && window.progressSeen.at(-1) !== value) window.progressSeen.push(value);
        }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow', 'hidden'] });
      `);
      await page.getByRole('button', { name: 'Finalize CON-A' }).click();
      await dialog.getByRole('button', { name: 'Finalize', exact: true }).click();
      const bar = page.getByRole('progressbar', { name: 'Export of CON-A' });
      await bar.waitFor();
      // Polled from here: a string predicate would be eval'd in the page, which its CSP rightly refuses.
      const deadline = Date.now() + SETTLE_MS;
      while ((await bar.getAttribute('aria-valuenow')) !== '100' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      t.equal(await bar.getAttribute('aria-valuenow'), '100', 'the bar reaches 100');
      await waitForCells(rowA, ['exported']);
      t.equal((await rowA.getByRole('cell').first().innerText()).trim(), 'exported', 'the row reads exported');
      const seen = ((await page.evaluate('window.progressSeen')) as string[]).map(Number);
      t.ok(seen.length > 0 && seen.every((value, i) => value >= 0 && value <= 100 && (i === 0 || value >= seen[i - 1]!)), `the bar only moves forward within 0..100: ${seen.join(', ')}`);
      t.equal(seen[seen.length - 1], 100);
      t.equal((await ux.api<ExamSummary>('GET', '/api/exams/CON-A')).body.state, 'exported', 'the server agrees');
      t.equal(await page.getByRole('button', { name: 'Finalize CON-A' }).count(), 0, 'no Finalize for an exported exam');
      // The students still connected learn the exam is closed; nothing more of theirs is stored.
      for (const client of clientsA.values()) await client.close();
    });

    t.test('purge an exported exam after confirming', async (t) => {
      await page.getByRole('button', { name: 'Purge CON-A' }).click();
      const dialog = page.getByRole('dialog', { name: 'Purge CON-A?' });
      await dialog.waitFor();
      await dialog.getByRole('button', { name: 'Purge', exact: true }).click();
      await page.getByRole('status').filter({ hasText: 'CON-A is purged' }).waitFor();
      const roster = await ux.api<{ students: unknown[] }>('GET', '/api/exams/CON-A/students');
      t.same(roster.body.students, [], 'its data is gone from Redis');
      t.equal((await rowA.getByRole('cell').first().innerText()).trim(), 'exported', 'and it still reads exported');
    });

    t.test('sign out forgets the token', async (t) => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Admin token').waitFor();
      t.equal(await page.evaluate('sessionStorage.length'), 0);
      await page.reload();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      t.notOk(await page.getByRole('table', { name: 'Exams' }).isVisible(), 'signed out after a reload too');
    });

    t.teardown(() => {
      if (errors.length > 0) console.error(errors);
    });
    t.test('no console errors (a CSP violation would show here)', async (t) => {
      t.same(errors, []);
    });
  });
});
