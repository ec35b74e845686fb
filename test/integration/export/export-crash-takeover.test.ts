// Issue 16 item 5 and issue 10 item 4: a kill -9 at 20% of a PostgreSQL export, a restart and ONE
// finalize at once: the new process waits for the dead one's lease to lapse, takes the job over
// and ends `exported` with exact rows, never `failed` meanwhile. Three times in a row.

import t from 'tap';
import { createSink } from '../../../src/sinks/create-sink.js';
import { runExamTraffic, waitForExamState, type ExamBody } from '../../helpers/exam-traffic.js';
import { dropTables, POSTGRES_URL, readResultTables, uniquePrefix, withPgClient } from '../../helpers/postgres.js';
import { startUntradexProcess } from '../../helpers/untradex.js';

const BUCKETS = 16;
const ROUNDS = 3;
const TRAFFIC = { students: 60, questions: 4, changes: 2, submitEvery: 2 };
/** Lease time (10 s) plus the takeover poll and a loaded machine's slack. */
const TAKEOVER_LIMIT_MS = 25_000;

t.test('kill -9 at 20% of a PostgreSQL export, restart, one finalize: exported with exact rows, three times', async (t) => {
  const prefix = uniquePrefix('x');
  const slowdown = `${prefix}slow`;
  t.teardown(async () => {
    await dropTables(prefix);
    await withPgClient((client) => client.query(`DROP FUNCTION IF EXISTS ${slowdown}()`));
  });
  // Each bucket's merge into the events table sleeps 250 ms, so "20% done" lasts long enough to
  // be caught by polling on a loaded machine, whatever the database's speed.
  const sink = createSink({ kind: 'postgres', url: POSTGRES_URL, tablePrefix: prefix });
  await sink.ensureTables();
  await sink.close();
  await withPgClient(async (client) => {
    await client.query(`CREATE FUNCTION ${slowdown}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.25); RETURN NULL; END $$`);
    await client.query(`CREATE TRIGGER ${slowdown} AFTER INSERT ON ${prefix}events FOR EACH STATEMENT EXECUTE FUNCTION ${slowdown}()`);
  });

  const ux = await startUntradexProcess(t, {
    redis: { buckets: BUCKETS, appendfsync: 'always' },
    export: { sink: 'postgres', tablePrefix: prefix, postgres: { url: POSTGRES_URL }, exporters: 2, chunkSize: 50 },
  });
  for (let round = 1; round <= ROUNDS; round += 1) {
    const exam = `TAKEOVER-${round}`;
    const expected = await runExamTraffic(ux, exam, TRAFFIC, (fn) => t.teardown(fn));
    t.equal((await ux.api('POST', `/api/exams/${exam}/finalize`)).status, 202);
    let atKill: ExamBody;
    for (;;) {
      atKill = (await ux.api<ExamBody>('GET', `/api/exams/${exam}`)).body;
      if (atKill.export.percent >= 20 || atKill.state === 'exported') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    t.equal(atKill.state, 'exporting', `round ${round}: caught mid-export at ${atKill.export.percent}%`);
    await ux.killGroup();

    await ux.restart();
    const restartedAt = Date.now();
    const reply = await ux.api<ExamBody>('POST', `/api/exams/${exam}/finalize`);
    t.equal(reply.status, 202, `round ${round}: one finalize right after the restart`);
    t.equal(reply.body.state, 'exporting', 'it reads exporting while the dead lease lapses, not failed');
    let seenFailed = false;
    let done: ExamBody;
    for (;;) {
      done = (await ux.api<ExamBody>('GET', `/api/exams/${exam}`)).body;
      if (done.state === 'failed') seenFailed = true;
      if (done.state === 'exported' || done.state === 'failed' || Date.now() - restartedAt > TAKEOVER_LIMIT_MS + 30_000) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.equal(seenFailed, false, `never failed meanwhile${done.export.error === null ? '' : ` (error: ${done.export.error})`}`);
    if (done.state !== 'exported') t.comment(ux.output().split('\n').filter((line) => /"level":(4|5|6)0/.test(line)).slice(-15).join('\n'));
    t.equal(done.state, 'exported', `round ${round}: exported after one finalize (${Date.now() - restartedAt} ms after the restart)`);
    t.equal(done.export.bucketsDone, BUCKETS);

    const tables = await readResultTables(prefix);
    const events = tables.events.filter((row) => row.examId === exam);
    const keys = new Set(events.map((row) => `${row.studentId}|${row.seq}`));
    t.equal(events.length, expected.events, 'every event exactly once');
    t.equal(keys.size, events.length, 'no event twice');
    const answers = tables.answers.filter((row) => row.examId === exam);
    t.equal(answers.length, expected.answers.size, 'one answer row per student and question');
    t.equal(answers.filter((row) => expected.answers.get(`${row.studentId}|${row.questionId}`)?.value !== row.value).length, 0, 'each is the last answer');
    t.equal(tables.submissions.filter((row) => row.examId === exam).length, expected.submissions, 'every submission once');
  }
  await waitForExamState(ux, `TAKEOVER-${ROUNDS}`, ['exported']);
  t.equal(await ux.stop(), 0);
});
