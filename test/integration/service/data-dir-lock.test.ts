// Rule S2: one server per data directory. A second server on the same dataDir (other ports) is
// refused, naming the directory and the pid; a lock left by kill -9, or by a dead holder whose pid
// was reused since, never blocks the next start.

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../../src/config/load-config.js';
import { DataDirLockedError } from '../../../src/errors.js';
import { DataDirLock, LOCK_DIR_NAME, NOTE_FILE } from '../../../supervisors/data-dir-lock.js';
import { freePort } from '../../helpers/free-port.js';
import { logLines } from '../../helpers/log-lines.js';
import { startUntradexProcess } from '../../helpers/untradex.js';

/** A dead holder's lock is broken once unrefreshed for 3 s; staleness would be 10 s. */
const BREAK_WAIT_LIMIT_MS = 6_000;

async function runCli(configPath: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(packageRoot(), 'dist', 'app', 'cli', 'main.js'), '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, output };
}

t.test('a second server on the same dataDir is refused; after kill -9 of the first, a start takes over', async (t) => {
  const first = await startUntradexProcess(t);
  const otherConfig = join(await mkdtemp(join(tmpdir(), 'ux-second-')), 'config.json');
  t.teardown(() => rm(join(otherConfig, '..'), { recursive: true, force: true }));
  await writeFile(
    otherConfig,
    JSON.stringify({ dataDir: first.dataDir, gateway: { host: '127.0.0.1', port: await freePort() }, control: { port: await freePort() }, redis: { port: await freePort() }, log: { level: 'warn' } }),
  );
  const second = await runCli(otherConfig);
  t.not(second.code, 0, `the second server exits non-zero (${second.code})`);
  t.match(second.output, 'UX_ERR_DATA_DIR_LOCKED', 'with the lock error code');
  t.match(second.output, first.dataDir, 'naming the directory');
  t.match(second.output, `pid ${first.child.pid}`, 'and the pid that holds it');
  t.equal((await first.api('GET', '/readyz')).status, 200, 'the first server was not disturbed');

  const killedPid = first.child.pid;
  await first.killGroup();
  const startedAt = Date.now();
  await first.restart();
  const takeover = logLines(first.output()).find((line) => line.msg?.startsWith('took over the dataDir lock') === true);
  t.match(takeover, { pid: killedPid }, `the restart took over the killed server's lock at once (${Date.now() - startedAt} ms to start in all)`);
  t.ok(Number(takeover?.waitedMs) < BREAK_WAIT_LIMIT_MS, `after ${String(takeover?.waitedMs)} ms: the lock of a dead server never waits for staleness`);
  t.equal((await first.api('GET', '/readyz')).status, 200, 'the restarted server is ready');
  t.equal(await first.stop(), 0);
});

t.test('in one process: the lock names its holder, and a dead holder (or a reused pid) never blocks', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ux-lock-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const held = await DataDirLock.acquire(dataDir, () => undefined);
  const refused = await DataDirLock.acquire(dataDir, () => undefined).then(
    () => null,
    (error: unknown) => error,
  );
  t.ok(refused instanceof DataDirLockedError, 'a second acquire is refused');
  t.equal((refused as DataDirLockedError).holderPid, process.pid, 'naming the holder');
  await held.unlock();
  const again = await DataDirLock.acquire(dataDir, () => undefined);
  await again.unlock();

  // A lock whose note names a live pid with another start time: the holder died and its pid was
  // reused (kill(pid, 0) would say "alive"). Its mtime is 4 s old: younger than stale (10 s), so
  // only the note can tell the holder is gone.
  await mkdir(join(dataDir, LOCK_DIR_NAME));
  await writeFile(join(dataDir, NOTE_FILE), JSON.stringify({ pid: process.pid, startTime: '1', host: hostname(), since: '' }));
  const fourSecondsAgo = new Date(Date.now() - 4_000);
  await utimes(join(dataDir, LOCK_DIR_NAME), fourSecondsAgo, fourSecondsAgo);
  const takenAt = Date.now();
  const taken = await DataDirLock.acquire(dataDir, () => undefined);
  t.ok(Date.now() - takenAt < 2_000, 'taken over at once, without waiting for staleness');
  const note = JSON.parse(await readFile(join(dataDir, NOTE_FILE), 'utf8')) as { pid: number; startTime: string };
  t.equal(note.pid, process.pid, 'the new holder wrote its note');
  t.not(note.startTime, '1', 'with its own start time');
  await taken.unlock();
});
