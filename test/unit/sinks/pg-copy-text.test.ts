// COPY text format encoding: the four special characters escaped, NULL as \N, everything else
// literal, U+0000 refused, and times as exact ISO-8601 milliseconds, cached or not.

import t from 'tap';
import { copyTextField, copyTextPieces, copyTimestamp, CopyTimestamps } from '../../../src/sinks/pg-copy-text.js';
import { answerLine, eventLine, submissionLine } from '../../../src/sinks/postgres-sql.js';
import { seededUnit } from '../../helpers/seeded-random.js';

t.test('fields', async (t) => {
  t.equal(copyTextField(null), '\\N');
  t.equal(copyTextField('\\N'), '\\\\N', 'a literal \\N is not NULL');
  t.equal(copyTextField('\\.'), '\\\\.', 'nor an end-of-data marker');
  t.equal(copyTextField('a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e');
  t.equal(copyTextField("'\"`;--"), "'\"`;--", 'quotes need nothing in text format');
  t.equal(copyTextField('\x01\x08\x0b\x0c\x1f\x7f😀é'), '\x01\x08\x0b\x0c\x1f\x7f😀é', 'other control characters and emoji pass literally');
  t.equal(copyTextField(''), '', 'the empty string is not NULL');
  t.equal(copyTextField(9_007_199_254_740_991), '9007199254740991');
  t.throws(() => copyTextField('a\0b'), { code: 'UX_ERR_SINK_PERMANENT' });
  t.throws(() => copyTextField('\\\0'), { code: 'UX_ERR_SINK_PERMANENT' }, 'also beside a character that needs escaping');
  t.throws(() => copyTextField(Number.NaN), { code: 'UX_ERR_SINK_PERMANENT' });
});

t.test('timestamps', async (t) => {
  t.equal(copyTimestamp(null), null);
  t.equal(copyTimestamp(0), '1970-01-01T00:00:00.000Z');
  t.equal(copyTimestamp(1_764_400_000_123), '2025-11-29T07:06:40.123Z');
  t.equal(copyTimestamp(253_402_300_799_999), '9999-12-31T23:59:59.999Z');
  t.throws(() => copyTimestamp(8.64e15 + 1), { code: 'UX_ERR_SINK_PERMANENT' }, 'a time no Date can hold');
});

t.test('the cached clock writes exactly what toISOString writes', async (t) => {
  const times = new CopyTimestamps();
  t.equal(times.format(null), '\\N');
  const edges = [0, 1, 999, 59_999, 3_599_999, 3_600_000, 1_764_400_000_123, 951_782_400_000 /* 2000-02-29 */, 253_402_300_799_999, 253_402_300_800_000, 1.5, -1];
  for (const ms of edges) t.equal(times.format(ms), new Date(ms).toISOString(), `${ms}`);
  // Rows alternate between a client and a server time, sometimes in different hours; some jump far.
  const random = seededUnit(13);
  let base = 1_764_400_000_000;
  let mismatches = 0;
  for (let i = 0; i < 200_000; i += 1) {
    base += Math.floor(random() * 20_000);
    const ms = random() < 0.01 ? Math.floor(random() * 253_402_300_799_999) : base - Math.floor(random() * 7_200_000);
    if (times.format(ms) !== new Date(ms).toISOString()) mismatches += 1;
  }
  t.equal(mismatches, 0, '200,000 seeded times, near and far');
});

t.test('pieces hold whole rows, newline-terminated', async (t) => {
  const rows = Array.from({ length: 1030 }, (_, i) => [String(i), i % 2 === 0 ? null : 'a\tb'] as const);
  const pieces = [...copyTextPieces(rows, (r) => r.map(copyTextField).join('\t'))];
  t.same(
    pieces.map((p) => p.split('\n').length - 1),
    [512, 512, 6],
  );
  const lines = pieces.join('').split('\n');
  t.equal(lines[0], '0\t\\N');
  t.equal(lines[1], '1\ta\\tb');
  t.equal(lines[1030], '', 'ends with a newline');
  t.same([...copyTextPieces([], () => '')], []);
});

t.test('row lines: the columns of each table in COPY order', async (t) => {
  t.equal(
    eventLine({ examId: 'E1', studentId: 'S1', seq: 7, kind: 'answer', questionId: 'Q1', value: 'a\\b', clientTs: null, serverTs: 0 }),
    'E1\tS1\t7\tanswer\tQ1\ta\\\\b\t\\N\t1970-01-01T00:00:00.000Z',
  );
  t.equal(eventLine({ examId: 'E1', studentId: 'S1', seq: 1, kind: 'open', questionId: null, value: null, clientTs: 5, serverTs: 6 }), 'E1\tS1\t1\topen\t\\N\t\\N\t1970-01-01T00:00:00.005Z\t1970-01-01T00:00:00.006Z');
  t.equal(answerLine({ examId: 'E1', studentId: 'S1', questionId: 'Q1', value: '', seq: 2, answeredAt: null, receivedAt: 1 }), 'E1\tS1\tQ1\t\t2\t\\N\t1970-01-01T00:00:00.001Z');
  t.equal(submissionLine({ examId: 'E1', studentId: 'S1', submittedAt: 1_764_400_000_123, lastSeq: 9 }), 'E1\tS1\t2025-11-29T07:06:40.123Z\t9');
  const broken = { examId: null, studentId: 'S1', submittedAt: null, lastSeq: null } as unknown as Parameters<typeof submissionLine>[0];
  t.equal(submissionLine(broken), '\\N\tS1\t\\N\t\\N', 'a missing value is NULL for the database to refuse, never the text "null"');
});
