// An exported exam never opens again (docs/PROTOCOL.md section 4), purged or expired: students answer
// and submit, finalize exports to SQLite, the data leaves Redis; the same tokens then connect
// again and are welcomed `closed`, every event is nacked, finalize again changes no row.

import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { bucketKeys, bucketOf } from '../../../src/redis/bucket-keys.js';
import { waitForExamState, type ExamBody } from '../../helpers/exam-traffic.js';
import { pollUntil } from '../../helpers/poll.js';
import { helloRaw, type RawStudent } from '../../helpers/raw-student.js';
import { startUntradexInProcess, type InProcessUntradex } from '../../helpers/untradex.js';

const BUCKETS = 4;
const STUDENTS = ['S1', 'S2', 'S3'];


type Rows = Record<string, unknown[]>;

function sinkRows(ux: InProcessUntradex, exam: string): Rows {
  const db = new Database(ux.config.export.sqlite.path, { readonly: true });
  try {
    const rows: Rows = {};
    for (const table of ['answers', 'events', 'submissions']) {
      rows[table] = db.prepare(`SELECT * FROM ux_${table} WHERE exam_id = ? ORDER BY 1, 2, 3`).all(exam);
    }
    return rows;
  } finally {
    db.close();
  }
}

/** Three students answer and submit; the exam is finalized and exported; returns the sink's rows. */
async function sitAndExport(t: Test, ux: InProcessUntradex, exam: string, tokens: Record<string, string>): Promise<Rows> {
  for (const student of STUDENTS) {
    const { student: socket, welcome } = await helloRaw(ux.gatewayUrl, tokens[student]!);
    t.match(welcome, { t: 'welcome', state: 'open', lastSeq: 0 });
    socket.send({ t: 'ev', seq: 1, k: 'open' });
    socket.send({ t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: `first answer of ${student}` });
    socket.send({ t: 'ev', seq: 3, k: 'submit' });
    await socket.next((frame) => frame.t === 'ack' && frame.seq === 3);
    socket.close();
  }
  t.equal((await ux.api('POST', `/api/exams/${exam}/finalize`)).status, 202);
  await waitForExamState(ux, exam, ['exported'], 30_000);
  const rows = sinkRows(ux, exam);
  t.equal(rows.events!.length, 9, 'the sink holds the 9 events');
  t.equal(rows.submissions!.length, 3, 'and the 3 submissions');
  return rows;
}

/** The same tokens come back after the data is gone: closed, every event refused, nothing changes. */
async function comeBack(t: Test, ux: InProcessUntradex, exam: string, tokens: Record<string, string>, exported: Rows): Promise<void> {
  const sockets: RawStudent[] = [];
  for (const student of STUDENTS) {
    const { student: socket, welcome } = await helloRaw(ux.gatewayUrl, tokens[student]!);
    sockets.push(socket);
    t.match(welcome, { t: 'welcome', state: 'closed', lastSeq: 0 }, `${student} is welcomed with state closed`);
    // New seqs, and the old seqs 1 and 2 again: their records are gone, so they are refused too.
    for (const [seq, frame] of [[1, { k: 'open' }], [2, { k: 'answer', q: 'Q1', v: 'rewritten' }], [4, { k: 'answer', q: 'Q2', v: 'late' }], [5, { k: 'submit' }]] as const) {
      socket.send({ t: 'ev', seq, ...frame });
      t.match(await socket.next((f) => (f.t === 'nack' || f.t === 'ack') && f.seq === seq), { t: 'nack', code: 'exam_closed' }, `${student} seq ${seq}: nack exam_closed`);
    }
  }
  for (const socket of sockets) socket.close();
  t.match((await ux.api<ExamBody>('GET', `/api/exams/${exam}`)).body, { state: 'exported', students: 3, events: 9 }, 'the exam reads exported, with its counts');
  const again = await ux.api<{ state: string }>('POST', `/api/exams/${exam}/finalize`);
  t.same([again.status, again.body.state], [202, 'exported'], 'finalize again answers 202 and stays exported');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.same(sinkRows(ux, exam), exported, 'the sink is unchanged, row for row');
  const redis = ux.redis();
  const keys = await redis.keys(`ux:{${exam}:*`);
  // The sockets above were live sessions, so a presence round may have counted them as connected
  // (docs/PROTOCOL.md section 4): those entries expire by themselves and hold no answer.
  const presence = Array.from({ length: BUCKETS }, (_, bucket) => [bucketKeys.present(exam, bucket), bucketKeys.holders(exam, bucket)]).flat();
  for (const key of keys.filter((k) => presence.includes(k))) t.ok((await redis.pttl(key)) > 0, `${key} expires by itself`);
  t.same(
    keys.filter((k) => !presence.includes(k)).sort(),
    Array.from({ length: BUCKETS }, (_, bucket) => bucketKeys.closed(exam, bucket)).sort(),
    'nothing of the exam grew back in Redis: only the close markers are there (and presence, which expires)',
  );
}

t.test('purged: an exported exam never opens again', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: BUCKETS } });
  const exam = 'NEVER-PURGED';
  const tokens = await ux.tokens(exam, STUDENTS);
  const exported = await sitAndExport(t, ux, exam, tokens);
  t.equal((await ux.api('POST', `/api/exams/${exam}/purge`)).status, 200, 'purge answers 200');
  await comeBack(t, ux, exam, tokens, exported);
});

t.test('expired by export.retainSeconds: an exported exam never opens again', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: BUCKETS }, export: { retainSeconds: 1 } });
  const exam = 'NEVER-EXPIRED';
  const tokens = await ux.tokens(exam, STUDENTS);
  const exported = await sitAndExport(t, ux, exam, tokens);
  const redis = ux.redis();
  const seqKey = bucketKeys.seq(exam, bucketOf(exam, 'S1', BUCKETS));
  await pollUntil('the data to expire', () => redis.exists(seqKey), (exists) => exists === 0, { timeoutMs: 10_000 });
  await comeBack(t, ux, exam, tokens, exported);
});
