// Rule S4: the embedded Redis dies anyway (its disk filled faster than any check: a filler file
// takes every byte, and storage.minFreeBytes is 0 so nothing holds the writers back). The server
// restarts it with a growing backoff and, once it gives up, exits non-zero in time with the cause
// in words; it never hangs. With space back, a restart has every acked event, once, in the sink.

import { writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { logLines } from '../helpers/log-lines.js';
import { mountSmallDisk } from '../helpers/tmpfs.js';
import { startUntradexProcess } from '../helpers/untradex.js';
import { StudentLoad } from './support/student-load.js';
import { assertExactlyOnce, recordFault, snapshotAcks, tallyRedis, tallySqlite } from './support/tally.js';

const BUCKETS = 8;
const STUDENTS = 30;

/** Appends zeros in ever smaller pieces until the filesystem refuses even one byte. */
function fillDisk(path: string): void {
  for (const size of [1 << 20, 64 << 10, 4 << 10, 512, 1]) {
    const piece = Buffer.alloc(size);
    for (;;) {
      try {
        writeFileSync(path, piece, { flag: 'a' });
      } catch {
        break;
      }
    }
  }
}

t.test('a disk filled under Redis: restarts with backoff, then a non-zero exit naming the disk; nothing acked lost', async (t) => {
  const disk = await mountSmallDisk(t, 24 * 1024 * 1024);
  if ('skip' in disk) {
    t.comment(`SKIPPED LOUDLY: ${disk.skip}`);
    t.pass('skipped: no tmpfs');
    return;
  }
  await mkdir(join(disk.path, 'data'));
  const ux = await startUntradexProcess(
    t,
    { redis: { buckets: BUCKETS, appendfsync: 'always' }, storage: { minFreeBytes: 0 }, supervision: { intensity: 3, periodSeconds: 10 } },
    { dataDir: join(disk.path, 'data') },
  );
  const exited = new Promise<number | null>((resolve) => ux.child.once('exit', (code) => resolve(code)));
  const load = await StudentLoad.start(t, ux, { exam: 'DISK', students: STUDENTS, answersEach: 2000, pauseMs: 20, submit: false });
  await load.ackedAtLeast(300);

  const filledAt = performance.now();
  fillDisk(join(disk.path, 'filler'));
  const code = await exited;
  const exitSeconds = (performance.now() - filledAt) / 1000;
  load.stop();
  const acked = snapshotAcks(load);
  t.not(code, 0, `the process exited non-zero (${code})`);
  t.ok(exitSeconds < 60, `it exited ${exitSeconds.toFixed(1)} s after the disk filled (within 60 s)`);
  const lines = logLines(ux.output());
  if (process.env.UX_TEST_DEBUG === '1') for (const line of lines) t.comment(`${String(line.time)} ${String(line.level)} ${line.msg ?? ''} ${line.child ?? ''}`);
  const crashes = lines.filter((line) => line.msg === 'child crashed' && line.child === 'redis-server');
  t.ok(crashes.length >= 2, `redis-server was restarted before the supervisor gave up (${crashes.length} deaths)`);
  const delays = lines.filter((line) => line.msg === 'restarting the child after a delay' && line.child === 'redis-server').map((line) => Number(line.delayMs));
  t.ok(delays.length >= 1 && delays.every((delay, index) => index === 0 || delay > delays[index - 1]!), `the restart delays grow: ${delays.join(', ')} ms`);
  t.match(ux.output(), `no space left on the disk of ${join(disk.path, 'data')}`, 'the log names the full disk of dataDir in words');

  // Space back (the filler gone): start again, finish the exam, export it.
  await rm(join(disk.path, 'filler'));
  await load.close();
  await ux.restart();
  const tally = await tallyRedis(ux.redis(), acked, BUCKETS);
  assertExactlyOnce(t, tally, 'Redis after the restart');
  t.equal((await ux.api('POST', '/api/exams/DISK/finalize')).status, 202);
  for (let wait = 0; wait < 300; wait += 1) {
    const exam = await ux.api<{ state: string }>('GET', '/api/exams/DISK');
    if (exam.body.state === 'exported' || exam.body.state === 'failed') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const sink = tallySqlite(join(disk.path, 'data', 'results.sqlite'), acked);
  assertExactlyOnce(t, sink, 'the SQLite sink');
  t.equal(await ux.stop(), 0, 'the restarted process stops cleanly');
  recordFault(
    'disk full under the embedded Redis',
    `a filler file takes every byte of dataDir's 24 MiB tmpfs under load (${STUDENTS} students, storage.minFreeBytes 0 so nothing holds writers back)`,
    sink,
    `SQLite sink after a restart with space back; exit code ${code} ${exitSeconds.toFixed(1)} s after the disk filled, ${crashes.length} Redis deaths with delays ${delays.join('/')} ms, the log named the disk`,
  );
});
