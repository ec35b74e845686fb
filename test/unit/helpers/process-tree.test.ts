// A server a test started dies with the test's process even when the teardown never runs (a
// benchmark under `timeout`): killOnExit, with real processes in their own process groups.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { pollUntil } from '../../helpers/poll.js';

const TREE = new URL('../../helpers/process-tree.js', import.meta.url).href;

/** Alive: in /proc and not a zombie waiting for its reaper. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * A parent process that starts a detached "server" (its own process group) which starts a child of
 * its own, prints both pids, and then ends as `ending` says; `guarded` puts the server under killOnExit.
 */
function script(guarded: boolean, ending: 'sigterm' | 'exit'): string {
  return `
import { spawn } from 'node:child_process';
import { killOnExit } from ${JSON.stringify(TREE)};
const server = spawn(process.execPath, ['-e', "const c = require('child_process').spawn('sleep', ['120'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);"], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
${guarded ? 'killOnExit(server);' : ''}
server.stdout.once('data', (line) => {
  console.log(JSON.stringify({ server: server.pid, grandchild: Number(String(line).trim()) }));
  ${ending === 'exit' ? 'setTimeout(() => process.exit(0), 50);' : 'setInterval(() => {}, 1000);'}
});
`;
}

async function run(t: Test, guarded: boolean, ending: 'sigterm' | 'exit'): Promise<{ server: number; grandchild: number }> {
  const dir = t.testdir({ 'parent.mjs': script(guarded, ending) });
  const parent = spawn(process.execPath, [join(dir, 'parent.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pids = await new Promise<{ server: number; grandchild: number }>((resolve, reject) => {
    parent.stdout.once('data', (line: Buffer) => resolve(JSON.parse(String(line)) as { server: number; grandchild: number }));
    parent.once('error', reject);
  });
  const exited = new Promise((resolve) => parent.once('exit', resolve));
  if (ending === 'sigterm') parent.kill('SIGTERM');
  await exited;
  // Whatever the outcome, nothing is left behind by this test.
  t.teardown(() => {
    for (const pid of [pids.server, pids.grandchild]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  return pids;
}

t.test('a guarded server and its child die when the parent is ended by SIGTERM', async (t) => {
  const { server, grandchild } = await run(t, true, 'sigterm');
  await pollUntil('the server and its child gone', () => [alive(server), alive(grandchild)], (seen) => !seen[0] && !seen[1], { timeoutMs: 10_000 });
  t.pass('both gone');
});

t.test('a guarded server and its child die when the parent exits', async (t) => {
  const { server, grandchild } = await run(t, true, 'exit');
  await pollUntil('the server and its child gone', () => [alive(server), alive(grandchild)], (seen) => !seen[0] && !seen[1], { timeoutMs: 10_000 });
  t.pass('both gone');
});

t.test('unguarded, a detached server outlives its parent (what killOnExit is for)', async (t) => {
  const { server, grandchild } = await run(t, false, 'sigterm');
  // Given the guarded cases' time to die, it is still there.
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.ok(alive(server), 'the server lives on');
  t.ok(alive(grandchild), 'its child lives on');
});
