// The export scenario, shared by the default run (1,000,000 stored events) and the scale-out run
// (5,000,000): SQLite and PostgreSQL with 1, 2 and 4 exporters, against psql \copy, prepared inserts and row-by-row.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Test } from 'tap';
import { bucketKeys } from '../../src/redis/bucket-keys.js';
import { lockKey } from '../../src/export/exam-meta.js';
import { dropTables, POSTGRES_URL, uniquePrefix, withPgClient } from '../../test/helpers/postgres.js';
import { startTestRedis } from '../../test/helpers/redis-server.js';
import { examShape, fillExam, type ExamShape } from './export-data.js';
import { dumpCopyFiles, pgRowByRow, psqlCopy, sqlitePrepared, sqliteRowByRow } from './export-baselines.js';
import { measured, sleep, type BenchTest } from './load.js';
import { fmt, ResultWriter } from './results.js';
import { startBenchUntradex, type BenchUntradex } from './servers.js';
import { envInt, envIntList, envList } from './sizes.js';

const EXPORTERS = envIntList('UX_BENCH_EXPORT_EXPORTERS', { small: [1, 2, 4], default: [1, 2, 4] });
const SINKS = envList('UX_BENCH_EXPORT_SINKS', ['sqlite', 'postgres']);
const ROW_BY_ROW = envInt('UX_BENCH_EXPORT_ROWBYROW_ROWS', { small: 1_000, default: 10_000 });
const BUCKETS = envInt('UX_BENCH_EXPORT_BUCKETS', { small: 64, default: 64 });
const PG_URL = process.env['UX_BENCH_POSTGRES_URL'] ?? POSTGRES_URL;
const TARGET_SHARE = 0.6;
const FAR_AHEAD = 10;

async function postgresReachable(): Promise<boolean> {
  try {
    await withPgClient((c) => c.query('SELECT 1'), PG_URL);
    return true;
  } catch {
    return false;
  }
}

interface ExportRun {
  rows: number;
  seconds: number;
}

/** One finalize through the control API of a fresh Untradex process on the shared Redis. */
async function exportOnce(t: BenchTest, redisUrl: string, redis: Redis, shape: ExamShape, sink: string, exporters: number, dir: string): Promise<ExportRun> {
  const prefix = uniquePrefix('b');
  const sqlitePath = join(dir, `${prefix}.sqlite`);
  const server = await startBenchUntradex(t, {
    // The shared Redis runs everysec (only the export is measured): say so, or the durability check refuses it.
    redis: { embedded: false, url: redisUrl, buckets: BUCKETS, appendfsync: 'everysec' },
    export: { sink, exporters, tablePrefix: prefix, sqlite: { path: sqlitePath }, postgres: { url: PG_URL } },
  });
  if (sink === 'postgres') t.teardown(() => dropTables(prefix, PG_URL));
  // The exam was exported before: forget that (state, done buckets, lease) so every bucket runs again.
  await redis.del(bucketKeys.meta(shape.exam), lockKey(shape.exam));
  try {
    return await finalizeAndCount(t, server, shape, sink, sqlitePath, prefix);
  } catch (error) {
    throw new Error(`export to ${sink} with ${exporters} exporter(s) failed: ${(error as Error).message}\nuntradex printed:\n${server.ux.output().slice(-4000)}`, { cause: error });
  }
}

async function finalizeAndCount(t: BenchTest, server: BenchUntradex, shape: ExamShape, sink: string, sqlitePath: string, prefix: string): Promise<ExportRun> {
  const started = await server.ux.api('POST', `/api/exams/${shape.exam}/finalize`);
  if (started.status !== 202) throw new Error(`finalize answered ${started.status}: ${JSON.stringify(started.body)}`);
  type Report = { state: string; export: { rows: number; startedAt: string | null; finishedAt: string | null; error: string | null } };
  let report: Report;
  for (;;) {
    report = (await server.ux.api<Report>('GET', `/api/exams/${shape.exam}`)).body;
    if (report.state === 'exported' || report.state === 'failed') break;
    await sleep(200);
  }
  if (report.state !== 'exported') throw new Error(`export failed: ${report.export.error}`);
  const seconds = (Date.parse(report.export.finishedAt!) - Date.parse(report.export.startedAt!)) / 1000;
  // The rows really are in the database, each key once.
  const counted = sink === 'sqlite' ? countSqlite(sqlitePath, prefix) : await countPg(prefix);
  t.equal(counted, shape.rows.total, `${sink} holds every row once`);
  await server.ux.stop();
  return { rows: report.export.rows, seconds };
}

function countSqlite(path: string, prefix: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return ['events', 'answers', 'submissions'].reduce((n, table) => n + (db.prepare(`SELECT count(*) AS n FROM ${prefix}${table}`).get() as { n: number }).n, 0);
  } finally {
    db.close();
  }
}

async function countPg(prefix: string): Promise<number> {
  return withPgClient(async (c) => {
    let n = 0;
    for (const table of ['events', 'answers', 'submissions']) n += Number((await c.query(`SELECT count(*) AS n FROM ${prefix}${table}`)).rows[0].n);
    return n;
  }, PG_URL);
}

export interface ExportScenario {
  /** Result name: `export` (npm run bench) or `export-5m` (npm run bench:scale-out). */
  name: string;
  title: string;
  events: number[];
}

export async function runExportScenario(t: Test, scenario: ExportScenario): Promise<ResultWriter> {
  const EVENTS = scenario.events;
  const result = new ResultWriter(scenario.name, scenario.title);
  Object.assign(result.sizes, { events: EVENTS.join(','), exporters: EXPORTERS.join(','), sinks: SINKS.join(','), rowByRowSample: ROW_BY_ROW, buckets: BUCKETS });
  const sinks = SINKS.filter((s) => s === 'sqlite' || s === 'postgres');
  if (sinks.includes('postgres') && !(await postgresReachable())) {
    sinks.splice(sinks.indexOf('postgres'), 1);
    result.note(`PostgreSQL at ${PG_URL} did not answer: its export figures are missing from this run (set UX_BENCH_POSTGRES_URL).`);
    t.comment(`SKIPPING PostgreSQL: ${PG_URL} did not answer`);
  }

  for (const events of EVENTS) {
    await measured(t, `${events.toLocaleString('en-US')} events`, async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'ux-bench-export-'));
      t.teardown(() => rm(dir, { recursive: true, force: true }));
      const redis = await startTestRedis(t, { appendfsync: 'everysec' });
      const client = redis.client('bench-fill');
      const shape = examShape(`X${events}`, events);
      const fillSeconds = await fillExam(client, shape, BUCKETS);
      t.comment(`filled ${shape.events} events of ${shape.students} students (${shape.rows.total} rows to export) in ${fmt(fillSeconds)} s`);
      const label = `${(shape.events / 1e6).toLocaleString('en-US')}M events`;

      const baselines: Record<string, { rowsPerSecond: number; label: string }> = {};
      const rowByRow: Record<string, number> = {};
      if (sinks.includes('sqlite')) {
        const prepared = await sqlitePrepared(join(dir, 'prepared.sqlite'), 'p_', client, shape.exam, BUCKETS);
        baselines['sqlite'] = { rowsPerSecond: prepared.rows / prepared.seconds, label: 'prepared inserts, 50,000 per transaction' };
        rowByRow['sqlite'] = await sqliteRowByRow(join(dir, 'rowbyrow.sqlite'), 'r_', client, shape.exam, BUCKETS, ROW_BY_ROW);
        t.comment(`sqlite baselines: prepared ${fmt(baselines['sqlite'].rowsPerSecond)} rows/s, row by row ${fmt(rowByRow['sqlite'])} rows/s`);
      }
      if (sinks.includes('postgres')) {
        const files = await dumpCopyFiles(client, shape.exam, BUCKETS, dir);
        const copyPrefix = uniquePrefix('c');
        t.teardown(() => dropTables(copyPrefix, PG_URL));
        const copySeconds = await psqlCopy(PG_URL, copyPrefix, files);
        baselines['postgres'] = { rowsPerSecond: shape.rows.total / copySeconds, label: 'psql \\copy into the same keyed tables' };
        const rowPrefix = uniquePrefix('r');
        t.teardown(() => dropTables(rowPrefix, PG_URL));
        rowByRow['postgres'] = await pgRowByRow(PG_URL, rowPrefix, client, shape.exam, BUCKETS, ROW_BY_ROW);
        t.comment(`postgres baselines: psql \\copy ${fmt(baselines['postgres'].rowsPerSecond)} rows/s, row by row ${fmt(rowByRow['postgres'])} rows/s`);
      }

      for (const sink of sinks) {
        const rates: number[] = [];
        for (const exporters of EXPORTERS) {
          const run = await measured(t, `${sink}, ${exporters} exporter(s)`, (t) => exportOnce(t, redis.url, client, shape, sink, exporters, dir));
          const rowsPerSecond = run.rows / run.seconds;
          rates.push(rowsPerSecond);
          t.comment(`${sink} with ${exporters} exporter(s): ${run.rows} rows in ${fmt(run.seconds)} s = ${fmt(rowsPerSecond)} rows/s`);
          result.add({
            id: `export.${sink}.${shape.events}.e${exporters}`,
            label: `${sink}, ${label}, ${exporters} exporter(s)`,
            value: rowsPerSecond,
            unit: 'rows/s',
            better: 'higher',
            baseline: { label: baselines[sink]!.label, value: baselines[sink]!.rowsPerSecond },
            note: `${run.rows} rows in ${fmt(run.seconds)} s`,
          });
        }
        const best = Math.max(...rates);
        const bestExporters = EXPORTERS[rates.indexOf(best)]!;
        result.add({ id: `export.${sink}.${shape.events}.rowByRow`, label: `${sink}, ${label}, best (${bestExporters} exporters) against row-by-row inserts`, value: best, unit: 'rows/s', better: 'higher', baseline: { label: `one INSERT per transaction (${ROW_BY_ROW} rows)`, value: rowByRow[sink]! } });
        const share = best / baselines[sink]!.rowsPerSecond;
        result.target({
          id: `export.${sink}.${shape.events}`,
          text: sink === 'postgres' ? 'PostgreSQL export at least 60% of raw psql \\copy into the same keyed table' : 'SQLite export at least 60% of raw prepared inserts in big transactions',
          met: shape.events < 1_000_000 ? null : share >= TARGET_SHARE,
          measured: `${fmt(share * 100)}% with ${bestExporters} exporter(s), ${label}`,
        });
        result.target({
          id: `export.${sink}.${shape.events}.rowByRow`,
          text: `${sink} export far ahead of row-by-row inserts (taken here as at least ${FAR_AHEAD}x)`,
          met: shape.events < 1_000_000 ? null : best / rowByRow[sink]! >= FAR_AHEAD,
          measured: `${fmt(best / rowByRow[sink]!)}x, ${label}`,
        });
      }
    });
  }
  result.note('Each export is a finalize through the control API of a fresh Untradex process (export.exporters set per run) on one Redis filled through BucketStore.writeBatch; rows/s is the rows written (events + last answers + submissions) over the time from finalize to exported, as the exam meta records it. The rows are then counted in the database.');
  result.note('Baselines take the same rows: psql \\copy of COPY-text files written beforehand (not timed); prepared inserts read each bucket from Redis untimed and time only the inserts; row-by-row inserts only a sample of event rows, each INSERT its own transaction.');

  t.comment(result.table());
  t.comment(`results: ${result.write()}`);
  return result;
}
