// SQLite with several exporter threads at once: each thread's sink has its own connection to
// one results file, so commits contend for SQLite's single write lock (WAL + busy_timeout).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { diffTables, expectedTables, generateBuckets, totalRows, type BucketData } from './sink-data.js';
import { readSqliteTables } from './sqlite-read.js';

const THREADS = 4;
const WRITER = new URL('../../fixtures/sinks/sqlite-bucket-writer.js', import.meta.url);

function runWriter(workerData: { path: string; tablePrefix: string; buckets: BucketData[]; chunkRows: number }): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WRITER, { workerData });
    let rows: number[] | undefined;
    worker.once('message', (message: { rows: number[] }) => (rows = message.rows));
    worker.once('error', reject);
    // Exiting without a report is a crash, whatever the exit code.
    worker.once('exit', (code) => (rows === undefined ? reject(new Error(`writer exited with ${code} before reporting`)) : resolve(rows)));
  });
}

t.test('four threads export interleaved buckets into one SQLite file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ux-sqlite-threads-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'results.sqlite');
  const data = generateBuckets({ seed: 7, exam: 'E-threads', students: 1600, buckets: 16 });
  const shares = Array.from({ length: THREADS }, (_, w) => data.filter((b) => b.bucket % THREADS === w));

  // Twice: the second round upserts over the first while the other threads commit too.
  for (const round of [1, 2]) {
    const rows = await Promise.all(shares.map((buckets) => runWriter({ path, tablePrefix: 'ux_', buckets, chunkRows: 150 })));
    t.same(
      rows,
      shares.map((buckets) => buckets.map(totalRows)),
      `round ${round}: every thread committed every row of its buckets`,
    );
    t.same(diffTables(readSqliteTables(path, 'ux_'), expectedTables(data, 'empty')), [], `round ${round}: exactly the expected rows`);
  }
});
