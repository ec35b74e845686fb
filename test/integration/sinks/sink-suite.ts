// The one behaviour suite every result sink must pass (SQLite, PostgreSQL, Oracle): exact rows,
// idempotent reruns, rollbacks, stale answers, hostile values, edge times, parallel writers.

import type { Test } from 'tap';
import { MAX_CLIENT_TS, MAX_SEQ } from '../../../src/events/answer-event.js';
import type { ResultSink } from '../../../src/sinks/result-sink.js';
import {
  diffTables,
  expectedTables,
  generateBuckets,
  HOSTILE_VALUES,
  totalRows,
  writeBucket,
  type BucketData,
  type ResultTables,
} from './sink-data.js';

export interface SinkSuiteOptions {
  /** A new sink instance on the same tables at every call; the suite closes what it makes. */
  makeSink: () => ResultSink;
  /** Every row of the three tables, times as ms since the epoch. */
  readBack: () => Promise<ResultTables>;
  /** How the database returns "": as "" (SQLite, PostgreSQL) or NULL (Oracle). */
  emptyAs: 'empty' | 'null';
  students?: number;
}

const BUCKETS = 16;
const WRITERS = 4;
const CHUNK_ROWS = 400;

/** A copy of a bucket whose every row would change the tables if it ever got committed. */
function tampered(b: BucketData): BucketData {
  return {
    ...b,
    events: b.events.map((r) => ({ ...r, value: 'TAMPERED', serverTs: r.serverTs + 1 })),
    answers: b.answers.map((r) => ({ ...r, value: 'TAMPERED', seq: r.seq + 1 })),
    submissions: b.submissions.map((r) => ({ ...r, lastSeq: r.lastSeq + 1 })),
  };
}

/** Runs `steps` and returns what they threw (undefined if nothing). */
async function failureOf(steps: () => Promise<unknown>): Promise<{ code?: unknown; transient?: unknown } | undefined> {
  try {
    await steps();
    return undefined;
  } catch (err) {
    return err as { code?: unknown; transient?: unknown };
  }
}

/** An ASCII-only preview for a TAP message: U+2028 and friends would break TAP's lines. */
function printable(value: string): string {
  const preview = [...value.slice(0, 24)].map((c) => (c >= ' ' && c <= '~' ? c : `\\u{${c.codePointAt(0)?.toString(16)}}`));
  return `"${preview.join('')}"`;
}

export function sinkSuite(t: Test, options: SinkSuiteOptions): void {
  const sinks: ResultSink[] = [];
  const make = (): ResultSink => {
    const sink = options.makeSink();
    sinks.push(sink);
    return sink;
  };
  t.teardown(async () => {
    for (const sink of sinks) await sink.close();
  });

  const data = generateBuckets({ seed: 20_251_129, exam: 'EXAM-2025.final', students: options.students ?? 3000, buckets: BUCKETS });
  const expected = expectedTables(data, options.emptyAs);
  const writers = Array.from({ length: WRITERS }, make);
  const exportAll = (buckets: readonly BucketData[]): Promise<{ rows: number }[]> =>
    Promise.all(buckets.map((b, i) => writeBucket(writers[i % WRITERS] as ResultSink, b, CHUNK_ROWS)));
  const tablesMatch = async (tt: Test, what: string): Promise<void> => {
    tt.same(diffTables(await options.readBack(), expected), [], what);
  };

  t.test('ensureTables creates the tables, concurrently and again', async (tt) => {
    await Promise.all(writers.map((s) => s.ensureTables()));
    await (writers[0] as ResultSink).ensureTables();
    const tables = await options.readBack();
    tt.same([tables.answers.length, tables.events.length, tables.submissions.length], [0, 0, 0], 'the tables exist and are empty');
  });

  t.test('buckets written in parallel by several sinks hold exactly the expected rows', async (tt) => {
    const allAnswers = data.reduce((n, b) => n + b.answers.length, 0);
    tt.ok(expected.answers.length < allAnswers, 'the data holds superseded answers, so "last by seq" is exercised');
    tt.ok(data.every((b) => b.answers.length > 2 * CHUNK_ROWS), 'every bucket takes several chunks');
    const results = await exportAll(data);
    tt.same(
      results.map((r) => r.rows),
      data.map(totalRows),
      'commit counts every row handed to the bucket',
    );
    await tablesMatch(tt, 'one row per key, the last answer per question');
  });

  t.test('exporting every bucket again leaves exactly the same rows', async (tt) => {
    await exportAll(data);
    await tablesMatch(tt, 'unchanged after a rerun');
  });

  t.test('a bucket rolled back halfway, or abandoned by close, then redone, leaves the same rows', async (tt) => {
    const b = data[3] as BucketData;
    const bad = tampered(b);
    const sink = writers[1] as ResultSink;
    const write = await sink.beginBucket(b.exam, b.bucket);
    await write.addEvents(bad.events.slice(0, bad.events.length / 2));
    await write.addAnswers(bad.answers.slice(0, bad.answers.length / 2));
    await write.rollback();
    await write.rollback();
    await tt.rejects(write.addAnswers(bad.answers), { code: 'UX_ERR_SINK_PERMANENT' }, 'a rolled-back write takes no more chunks');
    await tt.rejects(write.commit(), { code: 'UX_ERR_SINK_PERMANENT' }, 'nor commits');
    await tablesMatch(tt, 'nothing of the rolled-back chunks is visible');

    const doomed = make();
    const abandoned = await doomed.beginBucket(b.exam, b.bucket);
    await abandoned.addAnswers(bad.answers);
    await abandoned.addSubmissions(bad.submissions);
    await doomed.close();
    await tablesMatch(tt, 'closing a sink rolls back its open bucket');
    await tt.rejects(doomed.beginBucket(b.exam, b.bucket), { code: 'UX_ERR_SINK_PERMANENT' }, 'a closed sink begins nothing');

    const redo = await writeBucket(sink, b, CHUNK_ROWS);
    tt.equal(redo.rows, totalRows(b));
    await tablesMatch(tt, 'the redone bucket leaves the same rows');
  });

  t.test('older answer versions never replace newer ones', async (tt) => {
    const b = data[5] as BucketData;
    const latestSeq = new Map<string, number>();
    for (const r of b.answers) {
      const key = `${r.studentId}|${r.questionId}`;
      latestSeq.set(key, Math.max(latestSeq.get(key) ?? 0, r.seq));
    }
    const stale = b.answers.filter((r) => r.seq < (latestSeq.get(`${r.studentId}|${r.questionId}`) ?? 0)).map((r) => ({ ...r, value: 'STALE' }));
    tt.ok(stale.length > 100, `${stale.length} stale answers to replay`);
    await writeBucket(writers[2] as ResultSink, { ...b, events: [], submissions: [], answers: stale }, CHUNK_ROWS);
    await tablesMatch(tt, 'stale answers left the newer ones in place');
  });

  t.test('an exported event row is never rewritten by a later export with other content', async (tt) => {
    const b = data[6] as BucketData;
    const rewritten = b.events.slice(0, 50).map((r) => ({ ...r, kind: 'answer' as const, questionId: 'QX', value: 'REWRITTEN', serverTs: r.serverTs + 1 }));
    await writeBucket(writers[1] as ResultSink, { ...b, answers: [], submissions: [], events: rewritten }, CHUNK_ROWS);
    await tablesMatch(tt, 'the audit rows kept their first content');
  });

  t.test('a refused row fails the whole bucket, which rolls back, and the failure sticks', async (tt) => {
    const b = tampered(data[7] as BucketData);
    const broken = { ...(b.answers[0] as BucketData['answers'][number]), examId: null as unknown as string };
    const write = await (writers[3] as ResultSink).beginBucket(b.exam, b.bucket);
    const failure = await failureOf(async () => {
      await write.addEvents(b.events);
      await write.addAnswers([...b.answers.slice(1), broken]);
      await write.commit();
    });
    tt.equal(failure?.code, 'UX_ERR_SINK_PERMANENT', 'a NOT NULL violation is permanent');
    tt.equal(failure?.transient, false);
    await tt.rejects(write.commit(), { code: 'UX_ERR_SINK_PERMANENT' }, 'commit after the failure rejects too');
    await tt.resolves(write.rollback(), 'rollback after the failure is a no-op');
    await tablesMatch(tt, 'none of the failed bucket reached the tables');
  });

  t.test('hostile values, edge times and large seqs round-trip exactly', async (tt) => {
    const tables = await options.readBack();
    const values = new Set(tables.answers.map((r) => r.value));
    for (const value of HOSTILE_VALUES) {
      const stored = value === '' && options.emptyAs === 'null' ? null : value;
      tt.ok(values.has(stored), `value ${printable(value)} (${Buffer.byteLength(value)} bytes) came back intact`);
    }
    const times = new Set(tables.answers.map((r) => r.answeredAt));
    tt.ok(times.has(0) && times.has(MAX_CLIENT_TS) && times.has(null), 'epoch, year-9999 and absent client times');
    tt.ok(
      tables.events.some((r) => r.serverTs % 1000 !== 0),
      'server times keep their milliseconds',
    );
    tt.ok(
      tables.events.some((r) => r.seq > MAX_SEQ - 200),
      'seqs near 2^53 - 1 are exact',
    );
    await tablesMatch(tt, 'and everything else still matches');
  });
}
