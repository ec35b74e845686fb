// The shared sink suite against a real SQLite file, plus what only SQLite has: WAL mode,
// FULL sync and INTEGER millisecond columns.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { createSink } from '../../../src/sinks/create-sink.js';
import { sinkSuite } from './sink-suite.js';
import { readSqliteTables } from './sqlite-read.js';

const dir = mkdtempSync(join(tmpdir(), 'ux-sqlite-sink-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const path = join(dir, 'nested', 'results.sqlite');
const prefix = 'ux_';

t.test('sqlite sink', async (t) => {
  sinkSuite(t, {
    makeSink: () => createSink({ kind: 'sqlite', path, tablePrefix: prefix }),
    readBack: async () => readSqliteTables(path, prefix),
    emptyAs: 'empty',
  });
});

t.test('the SQLite file is in WAL mode, and times and seqs are stored as INTEGER', async (t) => {
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const types = db
    .prepare(
      `SELECT DISTINCT typeof(seq) AS seq, typeof(received_at) AS received, typeof(answered_at) AS answered FROM ${prefix}answers`,
    )
    .all() as { seq: string; received: string; answered: string }[];
  t.same(new Set(types.map((r) => r.seq)), new Set(['integer']));
  t.same(new Set(types.map((r) => r.received)), new Set(['integer']));
  t.same(new Set(types.map((r) => r.answered)), new Set(['integer', 'null']));
  const pk = (table: string): string[] =>
    (db.prepare(`PRAGMA table_info(${prefix}${table})`).all() as { name: string; pk: number }[])
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
  t.same(pk('answers'), ['exam_id', 'student_id', 'question_id']);
  t.same(pk('events'), ['exam_id', 'student_id', 'seq']);
  t.same(pk('submissions'), ['exam_id', 'student_id']);
});

t.test('a missing export.sqlite.path is a ConfigError naming the key', async (t) => {
  t.throws(() => createSink({ kind: 'sqlite', path: null, tablePrefix: prefix }), { code: 'UX_ERR_CONFIG', key: 'export.sqlite.path' });
});

/** A sink whose tables exist, and another connection to its file that holds the write lock. */
async function sinkLockedByAnother(t: Test, file: string, busyTimeoutMs: number) {
  const lockedPath = join(dir, file);
  const sink = createSink({ kind: 'sqlite', path: lockedPath, tablePrefix: prefix, busyTimeoutMs });
  t.teardown(() => sink.close());
  await sink.ensureTables();
  const other = new Database(lockedPath);
  t.teardown(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  return { sink, other };
}

t.test('a write lock another connection holds is waited for on timers, so the thread keeps running (and can be stopped)', async (t) => {
  const { sink, other } = await sinkLockedByAnother(t, 'locked.sqlite', 5_000);

  let ticks = 0;
  const ticker = setInterval(() => (ticks += 1), 10);
  t.teardown(() => clearInterval(ticker));
  const ensuring = sink.ensureTables();
  await new Promise((resolve) => setTimeout(resolve, 300));
  // SQLite's own busy wait would hold this thread inside the native call until the lock is free.
  t.ok(ticks >= 5, `the thread ran its timers while it waited for the lock (${ticks} ticks)`);
  other.exec('ROLLBACK');
  await ensuring;
  t.pass('and took the lock once it was free');
});

t.test('a write lock never freed fails the write after busyTimeoutMs, as SQLITE_BUSY', async (t) => {
  const { sink, other } = await sinkLockedByAnother(t, 'never-freed.sqlite', 200);
  await t.rejects(sink.ensureTables(), /busy|locked/i);
  other.exec('ROLLBACK');
});
