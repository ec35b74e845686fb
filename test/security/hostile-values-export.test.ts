// Answers holding SQL, quotes, backslashes, emoji, every control character but NUL and values of
// exactly gateway.maxValueBytes, sent over real sockets, are stored in Redis and exported byte for
// byte through finalize to SQLite and to PostgreSQL (the sinks bind values, never build SQL).

import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { recordReliability } from '../helpers/reliability-record.js';
import { dropTables, POSTGRES_URL, uniquePrefix, withPgClient } from '../helpers/postgres.js';
import { helloRaw } from '../helpers/raw-student.js';
import { storedEventsByStudent } from '../helpers/stored-events.js';
import { waitForExamState } from '../helpers/exam-traffic.js';
import { startUntradexProcess } from '../helpers/untradex.js';
import { HOSTILE_VALUES } from '../integration/sinks/sink-data.js';

const BUCKETS = 4;
const EXAM = 'HOSTILE.values-1';
const C1 = Array.from({ length: 32 }, (_, i) => String.fromCharCode(0x80 + i)).join('');
const VALUES: readonly string[] = [
  ...HOSTILE_VALUES,
  "Robert'); DELETE FROM ux_events WHERE ('1'='1",
  '" OR ""="',
  '$$; DROP TABLE ux_events; $$',
  'ends with a backslash \\',
  '\\',
  C1,
  '\u0001\u001f\u007f at both ends \u0085',
  '\u202eRTL override\u202c עברית العربية',
  'e\u0301 a\u0308 A\u030a (combining)',
  '\uffff \ufffe \u{10ffff} \u{1fffe} (noncharacters)',
  '\ufffd',
  '👩‍👩‍👧‍👦 🏳️‍🌈 🇪🇸',
  `${'€'.repeat(682)}é`, // 2048 bytes, a 3-byte character up to the edge
  `${'😀'.repeat(511)}abcd`, // 2048 bytes
  '{"t":"ev","seq":1,"k":"submit"}',
  '<script>alert(1)</script>',
  '%s %d %n %%',
  ' ',
];
const QUESTIONS = VALUES.map((_, i) => (i % 5 === 0 ? `Q.${i}-${'x'.repeat(i % 7)}_` : `q${i}`));
QUESTIONS[1] = '-';
QUESTIONS[2] = '...';
QUESTIONS[3] = 'A'.repeat(64);
const STUDENTS = ['S.1-x_y', 'z'.repeat(64)];

interface Sent {
  student: string;
  seq: number;
  question: string;
  value: string;
}

/** Sends every value as an answer from each student over a raw socket; returns what was acked. */
async function sendAll(ux: { gatewayUrl: string; tokens(exam: string, students: string[]): Promise<Record<string, string>> }): Promise<Sent[]> {
  const tokens = await ux.tokens(EXAM, STUDENTS);
  const sent: Sent[] = [];
  for (const student of STUDENTS) {
    const { student: socket } = await helloRaw(ux.gatewayUrl, tokens[student]!);
    let seq = 0;
    for (const [index, value] of VALUES.entries()) {
      seq += 1;
      socket.send({ t: 'ev', seq, k: 'answer', q: QUESTIONS[index], v: value, ts: index === 0 ? 0 : 253402300799999 });
      sent.push({ student, seq, question: QUESTIONS[index]!, value });
    }
    // The same emoji spelled as JSON surrogate-pair escapes must be stored as the same bytes.
    seq += 1;
    socket.sendText(`{"t":"ev","seq":${seq},"k":"answer","q":"escaped","v":"\\ud83d\\ude00 \\u00e9 \\\\ \\" \\/ \\b\\f\\n\\r\\t \\u2028"}`);
    sent.push({ student, seq, question: 'escaped', value: '😀 é \\ " / \b\f\n\r\t \u2028' });
    seq += 1;
    socket.send({ t: 'ev', seq, k: 'submit' });
    const ack = await socket.next((frame) => (frame.t === 'ack' && frame.seq === seq) || frame.t === 'nack' || frame.t === 'err');
    if (ack.t !== 'ack') throw new Error(`unexpected ${JSON.stringify(ack)}`);
    socket.close();
  }
  return sent;
}

/** NULL where "" was sent is a difference too: only Oracle reads "" as NULL. */
const bytesDiffer = (got: Buffer | null, want: string) => got === null || !got.equals(Buffer.from(want, 'utf8'));

async function checkRedis(t: Test, redis: import('ioredis').Redis, sent: Sent[]): Promise<void> {
  const stored = await storedEventsByStudent(redis, EXAM, BUCKETS);
  let wrong = 0;
  for (const event of sent) {
    const got = stored.get(event.student)?.find((e) => e.seq === event.seq);
    if (got === undefined || got.question !== event.question || bytesDiffer(Buffer.from(got.value, 'utf8'), event.value)) wrong += 1;
  }
  t.equal(wrong, 0, `Redis holds all ${sent.length} answers byte for byte`);
}

t.test('hostile answers end to end to SQLite', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { buckets: BUCKETS }, export: { exporters: 2 } });
  const sent = await sendAll(ux);
  await checkRedis(t, ux.redis(), sent);
  t.equal((await ux.api('POST', `/api/exams/${EXAM}/finalize`)).status, 202);
  const done = await waitForExamState(ux, EXAM, ['exported', 'failed']);
  t.equal(done.state, 'exported', `exported (${done.export.error ?? 'no error'})`);

  const db = new Database(`${ux.dataDir}/results.sqlite`, { readonly: true });
  t.teardown(() => db.close());
  // CAST AS BLOB: the stored bytes themselves, not a decoded string.
  const answers = db.prepare('SELECT student_id, question_id, CAST(value AS BLOB) AS bytes, seq, answered_at FROM ux_answers WHERE exam_id = ?').all(EXAM) as Array<{ student_id: string; question_id: string; bytes: Buffer | null; seq: number; answered_at: number | null }>;
  const events = db.prepare("SELECT student_id, seq, question_id, CAST(value AS BLOB) AS bytes FROM ux_events WHERE exam_id = ? AND question_id IS NOT NULL").all(EXAM) as Array<{ student_id: string; seq: number; question_id: string; bytes: Buffer | null }>;
  compare(t, 'SQLite', sent, answers.map((row) => ({ student: row.student_id, question: row.question_id, seq: row.seq, bytes: row.bytes })), events.map((row) => ({ student: row.student_id, seq: row.seq, bytes: row.bytes })));
  const times = answers.filter((row) => row.question_id === QUESTIONS[0] || row.question_id === QUESTIONS[1]).map((row) => [row.question_id, row.answered_at]);
  t.same(new Set(times.map((pair) => JSON.stringify(pair))), new Set([JSON.stringify([QUESTIONS[0], 0]), JSON.stringify([QUESTIONS[1], 253402300799999])]), 'edge client times kept exactly');
  recordReliability({ kind: 'hostile', scenario: 'hostile answer values to SQLite', inputs: sent.length, outcome: `stored and exported byte for byte: ${sent.length}`, harmed: 0, note: 'SQL, quotes, backslashes, emoji, control characters, 2048-byte values' });
});

t.test('hostile answers end to end to PostgreSQL', async (t) => {
  const prefix = uniquePrefix('h');
  t.teardown(() => dropTables(prefix));
  const ux = await startUntradexProcess(t, { redis: { buckets: BUCKETS }, export: { exporters: 2, sink: 'postgres', tablePrefix: prefix, postgres: { url: POSTGRES_URL } } });
  const sent = await sendAll(ux);
  await checkRedis(t, ux.redis(), sent);
  t.equal((await ux.api('POST', `/api/exams/${EXAM}/finalize`)).status, 202);
  const done = await waitForExamState(ux, EXAM, ['exported', 'failed']);
  t.equal(done.state, 'exported', `exported (${done.export.error ?? 'no error'})`);
  // convert_to(..., 'UTF8'): the stored bytes, as bytea, not a string decoded by the driver.
  const { answers, events } = await withPgClient(async (client) => ({
    answers: (await client.query(`SELECT student_id, question_id, convert_to(value, 'UTF8') AS bytes, seq FROM ${prefix}answers WHERE exam_id = $1`, [EXAM])).rows as Array<{ student_id: string; question_id: string; bytes: Buffer | null; seq: string }>,
    events: (await client.query(`SELECT student_id, seq, convert_to(value, 'UTF8') AS bytes FROM ${prefix}events WHERE exam_id = $1 AND question_id IS NOT NULL`, [EXAM])).rows as Array<{ student_id: string; seq: string; bytes: Buffer | null }>,
  }));
  compare(t, 'PostgreSQL', sent, answers.map((row) => ({ student: row.student_id, question: row.question_id, seq: Number(row.seq), bytes: row.bytes })), events.map((row) => ({ student: row.student_id, seq: Number(row.seq), bytes: row.bytes })));
  recordReliability({ kind: 'hostile', scenario: 'hostile answer values to PostgreSQL', inputs: sent.length, outcome: `stored and exported byte for byte: ${sent.length}`, harmed: 0, note: 'through COPY: backslashes, tabs, \\. and \\N included' });
});

function compare(
  t: Test,
  sink: string,
  sent: Sent[],
  answers: Array<{ student: string; question: string; seq: number; bytes: Buffer | null }>,
  events: Array<{ student: string; seq: number; bytes: Buffer | null }>,
): void {
  t.equal(answers.length, sent.length, `${sink}: one answer row per student and question`);
  let wrongAnswers = 0;
  for (const want of sent) {
    const row = answers.find((a) => a.student === want.student && a.question === want.question);
    if (row === undefined || row.seq !== want.seq || bytesDiffer(row.bytes, want.value)) {
      wrongAnswers += 1;
      if (wrongAnswers <= 3) t.fail(`${sink}: ${want.student}/${want.question} holds ${row?.bytes?.toString('hex').slice(0, 80)}, sent ${Buffer.from(want.value).toString('hex').slice(0, 80)}`);
    }
  }
  t.equal(wrongAnswers, 0, `${sink}: every answer byte for byte`);
  t.equal(events.length, sent.length, `${sink}: one event row per answer sent`);
  const wrongEvents = sent.filter((want) => {
    const row = events.find((e) => e.student === want.student && e.seq === want.seq);
    return row === undefined || bytesDiffer(row.bytes, want.value);
  }).length;
  t.equal(wrongEvents, 0, `${sink}: every event's value byte for byte`);
}
