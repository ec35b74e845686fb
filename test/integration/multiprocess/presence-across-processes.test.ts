// `connected` across gateway processes (docs/PROTOCOL.md section 4: a live session on any gateway
// process, right within 10 s): students spread over two processes all count; a closed socket stops
// counting; a gateway process killed with SIGKILL leaves nothing behind once its entries expire.

import t from 'tap';
import { helloRaw, type RawStudent } from '../../helpers/raw-student.js';
import { startUntradexProcess, type ControlClient } from '../../helpers/untradex.js';

const EXAM = 'PRES';
const PRESENCE_BOUND_MS = 10_000;

interface ProcessReport {
  id: string;
  pid: number;
  status: string;
  connections: number;
}

async function processes(ux: ControlClient): Promise<ProcessReport[]> {
  return (await ux.api<{ processes: ProcessReport[] }>('GET', '/api/status')).body.processes;
}

async function connected(ux: ControlClient): Promise<number> {
  const reply = await ux.api<{ connected: number }>('GET', `/api/exams/${EXAM}`);
  return reply.body.connected;
}

async function waitForConnected(ux: ControlClient, expected: number): Promise<number> {
  const deadline = Date.now() + PRESENCE_BOUND_MS;
  let now = await connected(ux);
  while (now !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    now = await connected(ux);
  }
  return now;
}

async function rosterConnected(ux: ControlClient): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? 'limit=4' : `limit=4&cursor=${encodeURIComponent(cursor)}`;
    const page = await ux.api<{ students: Array<{ student: string; connected: boolean }>; cursor: string | null }>('GET', `/api/exams/${EXAM}/students?${query}`);
    names.push(...page.body.students.filter((entry) => entry.connected).map((entry) => entry.student));
    cursor = page.body.cursor;
  } while (cursor !== null);
  return names.sort();
}

t.test('connected counts live sessions on every gateway process', async (t) => {
  const ux = await startUntradexProcess(t, {
    gateway: { processes: 2, connectionActors: 1, presence: { refreshMs: 200, ttlMs: 3000 } },
    writers: { count: 1 },
    redis: { buckets: 8 },
  });
  const students = Array.from({ length: 60 }, (_, i) => `P${i}`);
  const tokens = await ux.tokens(EXAM, students);
  const sockets = new Map<string, RawStudent>();
  // The kernel picks the process of each connection: connect until both hold some students.
  for (const student of students) {
    const { student: raw, welcome } = await helloRaw(ux.gatewayUrl, tokens[student]!);
    t.teardown(() => raw.close());
    if (welcome.t !== 'welcome') throw new Error(`no welcome for ${student}: ${JSON.stringify(welcome)}`);
    sockets.set(student, raw);
    if (sockets.size >= 20 && (await processes(ux)).every((process) => process.connections > 0)) break;
  }
  const spread = await processes(ux);
  t.ok(spread.every((process) => process.connections > 0), `students on both processes: ${spread.map((process) => process.connections).join('/')}`);
  t.equal(await waitForConnected(ux, sockets.size), sockets.size, 'every live session counts, whichever process holds it');

  // Five students close their sockets cleanly.
  const leaving = [...sockets.keys()].slice(0, 5);
  for (const student of leaving) {
    sockets.get(student)!.close();
    await sockets.get(student)!.closed;
    sockets.delete(student);
  }
  t.equal(await waitForConnected(ux, sockets.size), sockets.size, `closed sockets stop counting within ${PRESENCE_BOUND_MS} ms`);
  t.same(await rosterConnected(ux), [...sockets.keys()].sort(), 'the roster marks exactly the live students connected');

  // A gateway process dies without a word: its students' presence expires.
  const victim = (await processes(ux)).find((process) => process.connections > 0)!;
  const closedByKill: string[] = [];
  for (const [student, raw] of sockets) void raw.closed.then(() => closedByKill.push(student));
  process.kill(victim.pid, 'SIGKILL');
  // The kernel closes the dead process's sockets at once; their close reaches us in moments.
  const deadline = Date.now() + PRESENCE_BOUND_MS;
  while (closedByKill.length < victim.connections && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const student of closedByKill) sockets.delete(student);
  t.equal(closedByKill.length, victim.connections, `the killed process held ${victim.connections} sockets`);
  t.equal(await waitForConnected(ux, sockets.size), sockets.size, `the killed process's students stop counting within ${PRESENCE_BOUND_MS} ms`);
  t.same(await rosterConnected(ux), [...sockets.keys()].sort());
});
