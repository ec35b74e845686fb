// Rule S3: dataDir on a small tmpfs filled by student load. Acks stop before the disk is full
// (storage.minFreeBytes), students stay connected (paused by rule 6), /readyz says `disk`, status
// shows the storage; once the disk grows, acks resume by themselves within 5 s, with no restart.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { logLines } from '../helpers/log-lines.js';
import { mountSmallDisk } from '../helpers/tmpfs.js';
import { startUntradexProcess } from '../helpers/untradex.js';
import { StudentLoad } from './support/student-load.js';
import { assertRedisHoldsLoad, recordFault } from './support/tally.js';
import { pollUntil } from '../helpers/poll.js';

const BUCKETS = 8;
const STUDENTS = 40;
const MiB = 1024 * 1024;

interface Status {
  storage?: { path: string; freeBytes: number; minFreeBytes: number; state: string };
  actors: Array<{ id: string; restarts: number }>;
}

t.test('a disk filling under load: acks pause before it is full, readyz says disk, acks resume when it grows', async (t) => {
  const disk = await mountSmallDisk(t, 8 * MiB);
  if ('skip' in disk) {
    t.comment(`SKIPPED LOUDLY: ${disk.skip}`);
    t.pass('skipped: no tmpfs');
    return;
  }
  const dataDir = join(disk.path, 'data');
  await mkdir(dataDir);
  const ux = await startUntradexProcess(t, { redis: { buckets: BUCKETS, appendfsync: 'always' }, storage: { minFreeBytes: 5 * MiB } }, { dataDir });
  const load = await StudentLoad.start(t, ux, { exam: 'LOWDISK', students: STUDENTS, answersEach: 100_000, pauseMs: 5, submit: false });

  await pollUntil(
    'readyz 503 naming the disk',
    () => ux.api<{ reasons: string[] }>('GET', '/readyz'),
    (ready) => ready.status === 503 && ready.body.reasons.some((reason) => reason.includes('disk')),
    { timeoutMs: 90_000, intervalMs: 100 },
  );
  const status = (await ux.api<Status>('GET', '/api/status')).body;
  t.match(status.storage, { path: dataDir, minFreeBytes: 5 * MiB, state: 'full' }, 'status shows the storage');
  t.ok(status.storage!.freeBytes > 0 && status.storage!.freeBytes < 5 * MiB, `below the threshold but not full (${status.storage!.freeBytes} bytes free)`);
  // What a writer had in flight when the gate closed is acked; nothing taken after it.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const ackedWhenPaused = load.ackedTotal;
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  t.equal(load.ackedTotal, ackedWhenPaused, `no new ack while the disk is low (${ackedWhenPaused} acked before)`);
  const metrics = await (await fetch(`${ux.controlUrl}/metrics`)).text();
  t.match(metrics, /ux_storage_free_bytes \d+/, 'Prometheus has the free bytes');

  const grownAt = performance.now();
  disk.resize(64 * MiB);
  await pollUntil('an ack after the disk grew', () => load.ackedTotal, (acked) => acked > ackedWhenPaused, { intervalMs: 20 });
  const resumeMs = Math.round(performance.now() - grownAt);
  t.ok(resumeMs < 5_000, `acks resumed ${resumeMs} ms after the disk grew (S3: within 5 s)`);
  await pollUntil('readyz 200 again', () => ux.api('GET', '/readyz'), (ready) => ready.status === 200, { timeoutMs: 10_000, intervalMs: 100 });

  load.stop();
  await load.flushed(60_000);
  t.equal(load.students.reduce((total, student) => total + student.disconnects, 0), 0, 'no student lost its socket');
  const after = (await ux.api<Status>('GET', '/api/status')).body;
  t.equal(after.actors.find((actor) => actor.id === 'redis-server')?.restarts, 0, 'Redis never died: no restart');
  const lines = logLines(ux.output());
  t.equal(lines.filter((line) => line.msg?.startsWith('the disk of dataDir is below') === true).length, 1, 'one warning when it crossed');
  t.equal(lines.filter((line) => line.msg?.startsWith('the disk of dataDir has space again') === true).length, 1, 'one line when it recovered');
  const tally = await assertRedisHoldsLoad(t, ux.redis(), load, BUCKETS, 'Redis');
  t.equal(await ux.stop(), 0);
  recordFault(
    'disk of dataDir below storage.minFreeBytes',
    `${STUDENTS} students fill dataDir's 8 MiB tmpfs (storage.minFreeBytes 5 MiB); then the tmpfs grows to 64 MiB`,
    tally,
    `Redis; acks paused with ${status.storage!.freeBytes} bytes free, readyz 503 "disk", 0 disconnects, 0 Redis restarts; acks resumed ${resumeMs} ms after the disk grew`,
  );
});
