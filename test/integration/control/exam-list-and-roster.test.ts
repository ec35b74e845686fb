// GET /api/exams, the exam view's submitted and connected, and the paged roster against a running
// Untradex with real students on real sockets: counts, presence that follows connects and closes,
// every student exactly once over the pages, exported (and purged) exams still listed.

import t from 'tap';
import { StudentClient } from '../../../src/client/student-client.js';
import type { ExamSummary } from '../../../src/protocol/exam-summary.js';
import type { RosterEntry } from '../../../src/protocol/roster-page.js';
import { waitForExamState } from '../../helpers/exam-traffic.js';
import { startUntradexInProcess, type ControlClient } from '../../helpers/untradex.js';

/** docs/PROTOCOL.md: `connected` is right within 10 s; with the test's short refresh it is much sooner. */
const PRESENCE_BOUND_MS = 10_000;

async function examView(ux: ControlClient, exam: string): Promise<ExamSummary> {
  const reply = await ux.api<ExamSummary>('GET', `/api/exams/${exam}`);
  if (reply.status !== 200) throw new Error(`GET /api/exams/${exam}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** Polls the exam view until `connected` reads `expected`; returns the last view either way. */
async function waitForConnected(ux: ControlClient, exam: string, expected: number): Promise<ExamSummary> {
  const deadline = Date.now() + PRESENCE_BOUND_MS;
  let view = await examView(ux, exam);
  while (view.connected !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    view = await examView(ux, exam);
  }
  return view;
}

async function walkRoster(ux: ControlClient, exam: string, limit: number): Promise<{ entries: RosterEntry[]; pages: number }> {
  const entries: RosterEntry[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = cursor === null ? `limit=${limit}` : `limit=${limit}&cursor=${encodeURIComponent(cursor)}`;
    const reply = await ux.api<{ students: RosterEntry[]; cursor: string | null }>('GET', `/api/exams/${exam}/students?${query}`);
    if (reply.status !== 200) throw new Error(`roster page: ${reply.status} ${JSON.stringify(reply.body)}`);
    entries.push(...reply.body.students);
    cursor = reply.body.cursor;
    pages += 1;
  } while (cursor !== null && pages < 1000);
  return { entries, pages };
}

t.test('exam list, counts, presence and roster', async (t) => {
  // A long ttl: a student who closes must read as gone because their entry is removed, not because
  // it expired (the expiry of a process that died is multiprocess/presence-across-processes).
  const ux = await startUntradexInProcess(t, { redis: { buckets: 8 }, gateway: { presence: { refreshMs: 100, ttlMs: 60_000 } } });

  const students = Array.from({ length: 40 }, (_, i) => `S${String(i).padStart(2, '0')}`);
  const tokens = await ux.tokens('LIST-A', students);
  const clients = new Map<string, StudentClient>();
  // Reconnecting is off, so a student stays on the socket the test counts; how a socket ended is
  // kept to tell a server that dropped one from a test that timed out.
  const drops: string[] = [];
  await Promise.all(
    students.map(async (student, index) => {
      const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]!, reconnect: false });
      t.teardown(() => client.close());
      client.on('disconnect', (code: number, reason: string) => drops.push(`${student}: ${code} ${reason}`));
      try {
        await client.connect();
        client.open();
        client.answer('Q1', `answer of ${student}`);
        if (index % 4 === 0) client.submit();
        await client.flushed();
      } catch (error) {
        throw new Error(`${student} lost its connection (${(error as Error).message}); sockets ended: ${drops.join('; ')}`);
      }
      clients.set(student, client);
    }),
  );
  // A student who is connected and has stored nothing yet is in the roster too.
  const { QUIET: quietToken } = await ux.tokens('LIST-A', ['QUIET']);
  const quiet = new StudentClient({ url: ux.gatewayUrl, token: quietToken!, reconnect: false });
  t.teardown(() => quiet.close());
  await quiet.connect();

  let view = await waitForConnected(ux, 'LIST-A', 41);
  t.match(view, { exam: 'LIST-A', state: 'open', students: 40, events: 40 * 2 + 10, submitted: 10, connected: 41 }, 'the exam view counts students, events, submits and live sessions');

  // Fifteen students close their sockets: connected follows.
  const leaving = students.slice(0, 15);
  await Promise.all(leaving.map((student) => clients.get(student)!.close()));
  view = await waitForConnected(ux, 'LIST-A', 26);
  t.equal(view.connected, 26, `connected drops when students close (within ${PRESENCE_BOUND_MS} ms)`);

  t.test('the roster lists every student exactly once, with their figures', async (t) => {
    const { entries, pages } = await walkRoster(ux, 'LIST-A', 7);
    const names = entries.map((entry) => entry.student);
    t.equal(new Set(names).size, names.length, 'no student twice');
    t.same([...names].sort(), [...students, 'QUIET'].sort(), `every student, over ${pages} pages`);
    t.ok(pages >= Math.ceil(41 / 7), 'pages of at most the limit');
    const byName = new Map(entries.map((entry) => [entry.student, entry]));
    const s00 = byName.get('S00')!;
    t.match(s00, { connected: false, lastSeq: 3, events: 3, submitted: true, submittedAt: Number, lastEventAt: Number });
    t.match(byName.get('S21'), { connected: true, lastSeq: 2, events: 2, submitted: false, submittedAt: null });
    t.match(byName.get('QUIET'), { connected: true, lastSeq: 0, events: 0, submitted: false, lastEventAt: null });
    t.equal(entries.filter((entry) => entry.connected).length, 26);
    t.equal(entries.filter((entry) => entry.submitted).length, 10);
    const whole = await ux.api<{ students: RosterEntry[]; cursor: string | null }>('GET', '/api/exams/LIST-A/students');
    t.equal(whole.body.students.length, 41, 'the default limit (500) holds the whole exam in one page');
    t.equal(whole.body.cursor, null);
  });

  t.test('roster parameters are checked', async (t) => {
    for (const query of ['limit=0', 'limit=5001', 'limit=abc', 'limit=1.5', 'cursor=nonsense', 'cursor=99%3AS1', 'cursor=1%3Abad%20id']) {
      const reply = await ux.api<{ error: string; message: string }>('GET', `/api/exams/LIST-A/students?${query}`);
      t.equal(reply.status, 400, query);
      t.equal(reply.body.error, 'bad_request');
    }
    t.equal((await ux.api('POST', '/api/exams/LIST-A/students')).status, 405);
    t.equal((await ux.api('POST', '/api/exams')).status, 405);
    t.equal((await fetch(`${ux.controlUrl}/api/exams`)).status, 401, 'the exam list needs the admin token');
  });

  t.test('the exam list holds every exam with data, exported and purged ones included', async (t) => {
    const { B1: b1, B2: b2 } = await ux.tokens('LIST-B', ['B1', 'B2']);
    for (const token of [b1!, b2!]) {
      const client = new StudentClient({ url: ux.gatewayUrl, token, reconnect: false });
      await client.connect();
      client.answer('Q1', 'x');
      client.submit();
      await client.flushed();
      await client.close();
    }
    t.equal((await ux.api('POST', '/api/exams/LIST-B/finalize')).status, 202);
    await waitForExamState(ux, 'LIST-B', ['exported', 'failed']);
    t.equal((await ux.api('POST', '/api/exams/LIST-B/purge')).status, 200);
    // An exam only finalized, never written to, has a state in Redis: it is listed too.
    t.equal((await ux.api('POST', '/api/exams/LIST-C/finalize')).status, 202);
    await waitForExamState(ux, 'LIST-C', ['exported', 'failed']);

    const list = await ux.api<{ exams: ExamSummary[] }>('GET', '/api/exams');
    t.equal(list.status, 200);
    t.same(list.body.exams.map((exam) => exam.exam), ['LIST-A', 'LIST-B', 'LIST-C'], 'sorted by id');
    t.match(list.body.exams[0], { exam: 'LIST-A', state: 'open', students: 40, events: 90, submitted: 10, connected: 26 });
    t.same(list.body.exams[1], { exam: 'LIST-B', state: 'exported', students: 2, events: 4, submitted: 2, connected: 0 }, 'purged, still listed with its final counts');
    t.same(list.body.exams[2], { exam: 'LIST-C', state: 'exported', students: 0, events: 0, submitted: 0, connected: 0 });
    const purgedRoster = await ux.api<{ students: RosterEntry[]; cursor: string | null }>('GET', '/api/exams/LIST-B/students');
    t.same(purgedRoster.body, { students: [], cursor: null }, 'purge removed the roster with the data');
    t.equal((await ux.api('GET', '/api/exams/NEVER/students')).status, 200);
  });
});
