// The one crash window a bucket's first-export `insert` must survive: an exporter dies after its
// bucket committed and before the job marked it done. The job redoes the bucket; its rows are already
// in PostgreSQL, so the insert is refused and the bucket is merged by key: no duplicates, nothing missing.

import t from 'tap';
import type { BucketTask, BucketTaskResult } from '../../../src/export/export-job.js';
import { runExamTraffic, waitForExamState } from '../../helpers/exam-traffic.js';
import { dropTables, POSTGRES_URL, readResultTables, uniquePrefix } from '../../helpers/postgres.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

const BUCKETS = 8;
const DIES_AFTER_COMMITS = 3;

// Every exporter thread (each replacement too) exits right after its third committed bucket.
process.env.UX_FAULT_INJECTION = '1';
process.env.UX_FAULT_PLAN = JSON.stringify([{ actor: 'exporter', point: 'exporter.afterCommit', action: 'exit', nth: DIES_AFTER_COMMITS }]);

t.test('exporters killed between a commit and its done mark: every bucket exactly once', async (t) => {
  const prefix = uniquePrefix('a');
  t.teardown(() => dropTables(prefix));
  const ux = await startUntradexInProcess(t, {
    redis: { buckets: BUCKETS },
    export: { sink: 'postgres', tablePrefix: prefix, postgres: { url: POSTGRES_URL }, exporters: 1, chunkSize: 25, retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 200 } },
  });
  const expected = await runExamTraffic(ux, 'XC-1', { students: 40, questions: 4, changes: 2, submitEvery: 3 }, (fn) => t.teardown(fn));

  // Watch what each bucket task answered (the real exporters still do all the work).
  const results: Array<{ task: BucketTask; result: BucketTaskResult | 'died' }> = [];
  const exporters = ux.app.exporters;
  const run = exporters.run.bind(exporters);
  exporters.run = async (task) => {
    try {
      const result = await run(task);
      results.push({ task, result });
      return result;
    } catch (error) {
      results.push({ task, result: 'died' });
      throw error;
    }
  };

  t.equal((await ux.api('POST', '/api/exams/XC-1/finalize')).status, 202);
  const done = await waitForExamState(ux, 'XC-1', ['exported', 'failed']);
  t.equal(done.state, 'exported', `exported despite the crashes (${done.export.error ?? ''})`);

  const died = results.filter((r) => r.result === 'died').map((r) => r.task.bucket);
  const loads = (load: string): number[] => results.filter((r) => r.result !== 'died' && r.result.ok && r.result.load === load).map((r) => r.task.bucket);
  // One exporter loading two buckets at a time (PostgreSQL, src/export/buckets-per-exporter.ts): it
  // dies at its third commit, taking down the bucket beside it too, committed or not. A committed one
  // is refused as an insert on its retry and merged by key; one that was not is rolled back with the
  // connection and goes straight in.
  t.ok(died.length >= 2, `the exporter died and took buckets with it (${died.join(', ')})`);
  t.ok(loads('upsert').length >= 1, `the window was hit: a bucket committed and not marked done was merged by key (${loads('upsert').join(', ')})`);
  t.ok(loads('upsert').every((bucket) => died.includes(bucket)), 'only a bucket whose exporter died is merged by key');
  t.same([...loads('insert'), ...loads('upsert')].sort((x, y) => x - y), Array.from({ length: BUCKETS }, (_, bucket) => bucket), 'each bucket loaded once in the end, straight in or merged');

  const tables = await readResultTables(prefix);
  const answers = tables.answers.filter((row) => row.examId === 'XC-1');
  t.equal(answers.length, expected.answers.size, 'one answer row per student and question');
  t.equal(answers.filter((row) => expected.answers.get(`${row.studentId}|${row.questionId}`)?.value !== row.value).length, 0, 'each is the last answer');
  const events = tables.events.filter((row) => row.examId === 'XC-1');
  t.equal(events.length, expected.events, 'every event exactly once');
  t.equal(new Set(events.map((row) => `${row.studentId}|${row.seq}`)).size, events.length, 'no key twice');
  t.equal(tables.submissions.filter((row) => row.examId === 'XC-1').length, expected.submissions, 'every submission exactly once');
  t.match(done.export, { bucketsDone: BUCKETS, rows: tables.answers.length + events.length + tables.submissions.length }, 'meta counts each bucket once');
});
