// The exam commands of the `untradex` bin (docs/PROTOCOL.md section 9) against a running Untradex with
// real students: exams, status, students (filters, formats), finalize --wait (plain lines, and a
// bar on a terminal) to exported, purge.

import { spawn } from 'node:child_process';
import t from 'tap';
import { StudentClient } from '../../../src/client/student-client.js';
import { CLI_PATH, runCli } from '../../helpers/cli.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

t.test('exam commands against a running Untradex', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 4 }, gateway: { presence: { refreshMs: 100, ttlMs: 30_000 } } });
  const auth = ['--url', ux.controlUrl, '--token', ux.adminToken];

  // Three students take the exam; C1 submits; C3 leaves.
  const { tokens } = (await ux.api<{ tokens: Record<string, string> }>('POST', '/api/exams/CLI-1/tokens', { students: ['C1', 'C2', 'C3'] })).body;
  const clients = new Map<string, StudentClient>();
  for (const student of ['C1', 'C2', 'C3']) {
    const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]! });
    t.teardown(() => client.close());
    await client.connect();
    client.answer('Q1', `${student} says hi`);
    if (student === 'C1') client.submit();
    await client.flushed();
    clients.set(student, client);
  }
  await clients.get('C3')!.close();

  t.test('exams, status and students show the exam as the API does', async (t) => {
    let exams = await runCli([...auth, 'exams']);
    for (let i = 0; i < 50 && !/CLI-1\s+open\s+3\s+2\s+1\s+4/.test(exams.stdout); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      exams = await runCli([...auth, 'exams']);
    }
    t.equal(exams.code, 0, exams.stderr);
    t.match(exams.stdout, /EXAM\s+STATE\s+STUDENTS\s+CONNECTED\s+SUBMITTED\s+EVENTS/);
    t.match(exams.stdout, /CLI-1\s+open\s+3\s+2\s+1\s+4/, 'students 3, connected 2, submitted 1, events 4');
    const json = await runCli([...auth, 'exams', '--json']);
    t.match(JSON.parse(json.stdout), [{ exam: 'CLI-1', state: 'open', students: 3, connected: 2, submitted: 1, events: 4 }]);

    const status = await runCli([...auth, 'status']);
    t.equal(status.code, 0, status.stderr);
    t.match(status.stdout, /Untradex running/);
    t.match(status.stdout, /connections\s+2 live/);
    t.match(status.stdout, /sink\s+sqlite reachable/);
    t.match(status.stdout, /writer-0\s+running/);
    t.match(status.stdout, /BATCH/, 'the actors table has a column for what each writer\'s batch is doing');
    t.match(status.stdout, /writer-0\s+running\s+\d+\s+\S+( ms)?\s+(idle|lingering|writing|acking)/, 'writer-0\'s loop, idle between batches');
    t.match(JSON.parse((await runCli([...auth, 'status', '--json'])).stdout), { state: 'running', connections: { live: 2 } });

    const roster = await runCli([...auth, 'students', 'CLI-1', '--format', 'csv']);
    t.equal(roster.code, 0, roster.stderr);
    const rows = roster.stdout.trim().split('\n');
    t.equal(rows[0], 'student,connected,submitted,events,last_seq,last_event_at,submitted_at');
    t.same(rows.slice(1).map((row) => row.split(',').slice(0, 5).join(',')).sort(), ['C1,true,true,2,2', 'C2,true,false,1,1', 'C3,false,false,1,1']);
    const pending = await runCli([...auth, 'students', 'CLI-1', '--not-submitted', '--not-connected', '--format', 'ndjson']);
    t.same(pending.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { student: string }).student), ['C3']);
    const table = await runCli([...auth, 'students', 'CLI-1', '--format', 'table']);
    t.match(table.stdout, /STUDENT\s+CONNECTED\s+SUBMITTED[\s\S]*3 student\(s\)/);
  });

  t.test('finalize --wait follows the export to exported; purge then removes the data', async (t) => {
    const purgeOpen = await runCli([...auth, 'purge', 'CLI-1']);
    t.equal(purgeOpen.code, 1, 'purging an exam that is not exported fails');
    t.match(purgeOpen.stderr, /only an exported exam can be purged.*untradex finalize CLI-1 --wait/);

    const run = await runCli([...auth, 'finalize', 'CLI-1', '--wait']);
    t.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    t.ok(lines.length >= 2, 'a line per step');
    t.match(lines[lines.length - 2], /exam CLI-1: exported, 4\/4 buckets, \d+ rows \(100%\)/);
    t.match(lines[lines.length - 1], /exam CLI-1: exported, 4 buckets, 8 rows; 3 students, 1 submitted/);
    const again = await runCli([...auth, 'finalize', 'CLI-1']);
    t.equal(again.code, 0);
    t.equal(again.stdout, 'exam CLI-1: exported\n', 'finalize again is safe and says so');

    const purge = await runCli([...auth, 'purge', 'CLI-1']);
    t.equal(purge.code, 0, purge.stderr);
    t.match(purge.stdout, /exam CLI-1: data removed from Redis \(\d+ keys\); it stays exported/);
  });

  t.test('finalize --wait on a terminal draws a progress bar', async (t) => {
    // script(1) gives the command a pseudo-terminal, as an operator's terminal would.
    const command = [process.execPath, CLI_PATH, ...auth, 'finalize', 'CLI-2', '--wait'].map((arg) => `'${arg}'`).join(' ');
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { env: { ...process.env, TERM: 'xterm', COLUMNS: '120' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    t.equal(code, 0, output);
    t.match(output, /CLI-2 \[[█░]+\] 100% \| 4\/4 buckets \| 0 rows \| exported/, 'a bar, full at the end');
    t.match(output, /exam CLI-2: exported, 4 buckets/);
  });

});
