// Several gateway processes on one port and one Redis (gateway.processes = 3), started as `npm start`
// starts them: status speaks for the set, students land on every process, exactly-once holds
// across them, a session is replaced across processes, finalize reaches them all, and a killed
// gateway process is restarted while its students reconnect to the others and lose nothing.

import { readFileSync } from 'node:fs';
import t from 'tap';
import { waitForExamState } from '../../helpers/exam-traffic.js';
import { assertStoredAsAcked, connectWatchedStudents } from '../../helpers/exactly-once-load.js';
import { pollSettled } from '../../helpers/poll.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { startUntradexProcess } from '../../helpers/untradex.js';
import { assertReplacedAcrossProcesses } from '../../helpers/cross-process-replacement.js';

const BUCKETS = 8;

interface FleetStatusBody {
  connections: { total: number };
  events: { stored: number };
  latency: { welcome: { count: number } };
  actors: Array<{ id: string; status: string }>;
  processes: Array<{ id: string; pid: number; status: string; restarts: number; connections: number }>;
}

t.test('three gateway processes behave as one Untradex', async (t) => {
  const ux = await startUntradexProcess(t, { gateway: { processes: 3, connectionActors: 1 }, writers: { count: 1 }, redis: { buckets: BUCKETS } });
  const status = async () => (await ux.api<FleetStatusBody>('GET', '/api/status')).body;
  const first = await status();
  t.equal(first.processes.length, 3, 'status lists every gateway process');
  t.ok(first.processes.every((process) => process.status === 'running' && process.pid > 0));
  // The primary runs with the memory reducer off on its command line, as `npm start` starts it; a
  // gateway process must too: set from inside, the flag misses its main isolate.
  for (const gateway of first.processes) {
    const argv = readFileSync(`/proc/${gateway.pid}/cmdline`, 'utf8').split('\0');
    t.ok(argv.includes('--no-memory-reducer'), `${gateway.id} starts with --no-memory-reducer (${argv.slice(0, 3).join(' ')})`);
  }
  t.ok(first.actors.some((actor) => actor.id === 'gateway-process-2/writer-0'), 'actors are listed under their process');
  t.equal((await fetch(`${ux.controlUrl}/readyz`)).status, 200, 'ready when every process is');

  const students = Array.from({ length: 90 }, (_, index) => `M${index}`);
  const { clients, acked } = await connectWatchedStudents(t, ux, 'MP', students);
  const spread = await status();
  t.equal(spread.connections.total, 90, 'the totals sum over the processes');
  t.ok(spread.processes.filter((process) => process.connections > 0).length >= 2, `students landed on several processes: ${spread.processes.map((p) => p.connections).join('/')}`);
  t.equal(spread.latency.welcome.count, 90, 'the welcome-latency histograms sum over the processes');
  t.match(await (await fetch(`${ux.controlUrl}/metrics`)).text(), /^ux_welcome_latency_seconds_count 90$/m, 'and so does /metrics');

  // Kill one gateway process in the middle of the traffic: its students reconnect to the others.
  const victim = spread.processes.find((process) => process.connections > 0)!;
  const traffic = clients.map(async (client, index) => {
    for (let round = 0; round < 10; round += 1) {
      client.answer(`Q${round % 4}`, `answer ${round}`);
      if (round === 4 && index % 10 === 0) client.resendUnacked();
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    client.submit();
  });
  await new Promise((resolve) => setTimeout(resolve, 60));
  process.kill(victim.pid, 'SIGKILL');
  await Promise.all(traffic);
  await Promise.all(clients.map((client) => client.flushed()));

  assertStoredAsAcked(t, await storedEventsByStudent(ux.redis(), 'MP', BUCKETS), acked, 11, 'across processes and a killed one');
  let restarted: FleetStatusBody['processes'][number] | undefined;
  for (let attempt = 0; attempt < 300 && restarted?.status !== 'running'; attempt += 1) {
    restarted = (await status()).processes.find((process) => process.id === victim.id);
    if (restarted?.restarts !== 1 || restarted.status !== 'running') await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.match(restarted, { restarts: 1, status: 'running' }, 'the primary restarted the killed gateway process');

  // One live session per student across processes: connect the same student until two sockets sit
  // on different processes, then the older must be replaced.
  const { R1: token } = await ux.tokens('MP-R', ['R1']);
  await assertReplacedAcrossProcesses(t, ux, token!);

  // Finalize from the control API reaches students on every process.
  let told = 0;
  for (const client of clients) client.once('closed', () => (told += 1));
  t.equal((await ux.api('POST', '/api/exams/MP/finalize')).status, 202);
  t.equal(await pollSettled('every student to be told', () => told, (count) => count === clients.length, { timeoutMs: 30_000 }), clients.length, 'every connected student, on every process, was told the exam closed');
  const done = await waitForExamState(ux, 'MP', ['exported', 'failed']);
  t.match(done, { state: 'exported', students: 90, events: 90 * 11 });

  await Promise.all(clients.map((client) => client.close()));
  t.equal(await ux.stop(), 0, 'SIGTERM drains every gateway process and exits 0');
});
