// COPY text format encoding: the four special characters escaped, NULL as \N, everything else
// literal, U+0000 refused, and times as exact ISO-8601 milliseconds.

import t from 'tap';
import { copyTextField, copyTextPieces, copyTimestamp } from '../../../src/sinks/pg-copy-text.js';

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
  t.throws(() => copyTextField(Number.NaN), { code: 'UX_ERR_SINK_PERMANENT' });
});

t.test('timestamps', async (t) => {
  t.equal(copyTimestamp(null), null);
  t.equal(copyTimestamp(0), '1970-01-01T00:00:00.000Z');
  t.equal(copyTimestamp(1_764_400_000_123), '2025-11-29T07:06:40.123Z');
  t.equal(copyTimestamp(253_402_300_799_999), '9999-12-31T23:59:59.999Z');
});

t.test('pieces hold whole rows, tab-separated and newline-terminated', async (t) => {
  const rows = Array.from({ length: 1030 }, (_, i) => [String(i), i % 2 === 0 ? null : 'a\tb']);
  const pieces = [...copyTextPieces(rows, (r) => r)];
  t.same(
    pieces.map((p) => p.split('\n').length - 1),
    [512, 512, 6],
  );
  const lines = pieces.join('').split('\n');
  t.equal(lines[0], '0\t\\N');
  t.equal(lines[1], '1\ta\\tb');
  t.equal(lines[1030], '', 'ends with a newline');
  t.same([...copyTextPieces([], () => [])], []);
});
