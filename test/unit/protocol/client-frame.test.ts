// The client-frame decoder against every rule of docs/PROTOCOL.md sections 1 and 3, one table row per
// rule, plus the client-side encoders round-tripping through it.

import t from 'tap';
import { decodeClientFrame, encodeEvent, encodeHello, type DecodedClientFrame } from '../../../src/protocol/client-frame.js';

const LIMITS = { maxValueBytes: 2048 };
const MAX = '9007199254740991';

type Row = [name: string, frame: string, expected: Partial<DecodedClientFrame> & { type: DecodedClientFrame['type'] }];

/** The two assertions `check` needs; tap's subtest type is a large plugin intersection. */
type Asserts = Pick<typeof t, 'has' | 'same'>;

function check(t: Asserts, rows: Row[], limits = LIMITS): void {
  for (const [name, frame, expected] of rows) {
    const got = decodeClientFrame(frame, limits);
    t.has(got, expected, name);
    // `has` ignores extra keys; make sure no field is missing or extra on success shapes.
    if (expected.type === 'event') t.same(Object.keys(got).sort(), ['clientTs', 'kind', 'question', 'seq', 'type', 'value'], `${name}: shape`);
  }
}

const ev = (fields: string): string => `{"t":"ev",${fields}}`;

t.test('section 3: frames that are protocol violations (close 4400)', async (t) => {
  check(t, [
    ['empty text', '', { type: 'violation', reason: 'bad_json' }],
    ['not JSON', 'hello', { type: 'violation', reason: 'bad_json' }],
    ['truncated JSON', '{"t":"ev","seq":1', { type: 'violation', reason: 'bad_json' }],
    ['trailing comma', '{"t":"ev","seq":1,"k":"open",}', { type: 'violation', reason: 'bad_json' }],
    ['single quotes', "{'t':'ev'}", { type: 'violation', reason: 'bad_json' }],
    ['trailing garbage', '{"t":"ev","seq":1,"k":"open"} x', { type: 'violation', reason: 'bad_json' }],
    ['two objects', '{"t":"ev","seq":1,"k":"open"}{"t":"ev","seq":2,"k":"open"}', { type: 'violation', reason: 'bad_json' }],
    ['NaN literal', ev('"seq":NaN,"k":"open"'), { type: 'violation', reason: 'bad_json' }],
    ['array', '[{"t":"ev","seq":1,"k":"open"}]', { type: 'violation', reason: 'not_object' }],
    ['null', 'null', { type: 'violation', reason: 'not_object' }],
    ['number', '42', { type: 'violation', reason: 'not_object' }],
    ['string', '"ev"', { type: 'violation', reason: 'not_object' }],
    ['boolean', 'true', { type: 'violation', reason: 'not_object' }],
    ['missing t', '{"seq":1,"k":"open"}', { type: 'violation', reason: 'bad_type' }],
    ['empty t', '{"t":"","seq":1,"k":"open"}', { type: 'violation', reason: 'bad_type' }],
    ['unknown t', '{"t":"ack","seq":1}', { type: 'violation', reason: 'bad_type' }],
    ['t in the wrong case', '{"t":"EV","seq":1,"k":"open"}', { type: 'violation', reason: 'bad_type' }],
    ['t not a string', '{"t":["ev"],"seq":1,"k":"open"}', { type: 'violation', reason: 'bad_type' }],
    ['t only through __proto__', '{"__proto__":{"t":"ev","seq":1,"k":"open"}}', { type: 'violation', reason: 'bad_type' }],
  ]);
});

t.test('section 1 and 3: an ev frame whose seq is missing or not a valid seq is a violation', async (t) => {
  const bad: Array<[string, string]> = [
    ['missing', ''],
    ['0', '"seq":0,'],
    ['-0', '"seq":-0,'],
    ['negative', '"seq":-1,'],
    ['fractional', '"seq":1.5,'],
    ['tiny fraction', '"seq":1.0000001,'],
    ['a string', '"seq":"1",'],
    ['null', '"seq":null,'],
    ['true', '"seq":true,'],
    ['an array', '"seq":[1],'],
    ['an object', '"seq":{"n":1},'],
    ['2^53', '"seq":9007199254740992,'],
    ['2^53 + 1 (rounds to 2^53)', '"seq":9007199254740993,'],
    ['huge', '"seq":1e300,'],
    ['overflowing to Infinity', '"seq":1e400,'],
    ['overflowing to -Infinity', '"seq":-1e400,'],
  ];
  check(
    t,
    bad.map(([name, seq]): Row => [name, ev(`${seq}"k":"answer","q":"Q1","v":"x"`), { type: 'violation', reason: 'bad_seq' }]),
  );
  check(t, [
    ['seq 1', ev('"seq":1,"k":"open"'), { type: 'event', seq: 1 }],
    ['seq 2^53-1', ev(`"seq":${MAX},"k":"open"`), { type: 'event', seq: Number.MAX_SAFE_INTEGER }],
    ['seq written 1.0 is the integer 1', ev('"seq":1.0,"k":"open"'), { type: 'event', seq: 1 }],
    ['seq written 1e2', ev('"seq":1e2,"k":"open"'), { type: 'event', seq: 100 }],
    ['a bad seq wins over a bad k', ev('"seq":0,"k":"nope"'), { type: 'violation', reason: 'bad_seq' }],
  ]);
});

t.test('section 3: k missing or unknown is bad_event for that seq', async (t) => {
  check(t, [
    ['k missing', ev('"seq":7'), { type: 'bad_event', seq: 7, reason: 'bad_kind' }],
    ['k empty', ev('"seq":7,"k":""'), { type: 'bad_event', seq: 7, reason: 'bad_kind' }],
    ['k unknown', ev('"seq":7,"k":"close"'), { type: 'bad_event', seq: 7, reason: 'bad_kind' }],
    ['k in the wrong case', ev('"seq":7,"k":"Answer"'), { type: 'bad_event', seq: 7, reason: 'bad_kind' }],
    ['k a number', ev('"seq":7,"k":1'), { type: 'bad_event', seq: 7, reason: 'bad_kind' }],
    ['k null', ev('"seq":7,"k":null'), { type: 'bad_event', seq: 7, reason: 'bad_kind' }],
  ]);
});

t.test('section 1: question ids of an answer', async (t) => {
  const a64 = 'a'.repeat(64);
  check(t, [
    ['q missing', ev('"seq":3,"k":"answer","v":"B"'), { type: 'bad_event', seq: 3, reason: 'bad_question' }],
    ['q empty', ev('"seq":3,"k":"answer","q":"","v":"B"'), { type: 'bad_event', seq: 3, reason: 'bad_question' }],
    ['q of 65 chars', ev(`"seq":3,"k":"answer","q":"${a64}a","v":"B"`), { type: 'bad_event', seq: 3, reason: 'bad_question' }],
    ['q with a space', ev('"seq":3,"k":"answer","q":"Q 7","v":"B"'), { type: 'bad_event', seq: 3, reason: 'bad_question' }],
    ['q with a pipe', ev('"seq":3,"k":"answer","q":"Q|7","v":"B"'), { type: 'bad_event', seq: 3, reason: 'bad_question' }],
    ['q non-ASCII', ev('"seq":3,"k":"answer","q":"Qé","v":"B"'), { type: 'bad_event', seq: 3, reason: 'bad_question' }],
    ['q with a newline', ev('"seq":3,"k":"answer","q":"Q7\\n","v":"B"'), { type: 'bad_event', seq: 3, reason: 'bad_question' }],
    ['q a number', ev('"seq":3,"k":"answer","q":7,"v":"B"'), { type: 'bad_event', seq: 3, reason: 'bad_question' }],
    ['q null', ev('"seq":3,"k":"answer","q":null,"v":"B"'), { type: 'bad_event', seq: 3, reason: 'bad_question' }],
    ['q of 64 chars', ev(`"seq":3,"k":"answer","q":"${a64}","v":"B"`), { type: 'event', question: a64 }],
    ['q with every allowed class', ev('"seq":3,"k":"answer","q":"aZ09_.-","v":"B"'), { type: 'event', question: 'aZ09_.-' }],
  ]);
});

t.test('section 1: answer values', async (t) => {
  const big = (unit: string, n: number): string => ev(`"seq":4,"k":"answer","q":"Q","v":"${unit.repeat(n)}"`);
  check(t, [
    ['v missing', ev('"seq":4,"k":"answer","q":"Q"'), { type: 'bad_event', seq: 4, reason: 'bad_value' }],
    ['v a number', ev('"seq":4,"k":"answer","q":"Q","v":2'), { type: 'bad_event', seq: 4, reason: 'bad_value' }],
    ['v null', ev('"seq":4,"k":"answer","q":"Q","v":null'), { type: 'bad_event', seq: 4, reason: 'bad_value' }],
    ['v an object', ev('"seq":4,"k":"answer","q":"Q","v":{}'), { type: 'bad_event', seq: 4, reason: 'bad_value' }],
    ['v an array', ev('"seq":4,"k":"answer","q":"Q","v":["B"]'), { type: 'bad_event', seq: 4, reason: 'bad_value' }],
    ['v empty clears the answer', ev('"seq":4,"k":"answer","q":"Q","v":""'), { type: 'event', value: '' }],
    ['U+0000', ev('"seq":4,"k":"answer","q":"Q","v":"a\\u0000b"'), { type: 'bad_event', seq: 4, reason: 'value_nul' }],
    ['lone high surrogate', ev('"seq":4,"k":"answer","q":"Q","v":"\\ud800"'), { type: 'bad_event', seq: 4, reason: 'value_lone_surrogate' }],
    ['lone low surrogate', ev('"seq":4,"k":"answer","q":"Q","v":"x\\udc00y"'), { type: 'bad_event', seq: 4, reason: 'value_lone_surrogate' }],
    ['reversed pair', ev('"seq":4,"k":"answer","q":"Q","v":"\\ude00\\ud83d"'), { type: 'bad_event', seq: 4, reason: 'value_lone_surrogate' }],
    ['high surrogate at the end', ev('"seq":4,"k":"answer","q":"Q","v":"ok\\ud83d"'), { type: 'bad_event', seq: 4, reason: 'value_lone_surrogate' }],
    ['a real pair is fine', ev('"seq":4,"k":"answer","q":"Q","v":"\\ud83d\\ude00"'), { type: 'event', value: '😀' }],
    ['2048 ASCII bytes', big('a', 2048), { type: 'event' }],
    ['2049 ASCII bytes', big('a', 2049), { type: 'bad_event', seq: 4, reason: 'value_too_big' }],
    ['2048 bytes of 2-byte chars', big('é', 1024), { type: 'event' }],
    ['2050 bytes of 2-byte chars', big('é', 1025), { type: 'bad_event', seq: 4, reason: 'value_too_big' }],
    ['2046 bytes of 3-byte chars', big('€', 682), { type: 'event' }],
    ['2049 bytes of 3-byte chars', big('€', 683), { type: 'bad_event', seq: 4, reason: 'value_too_big' }],
    ['2048 bytes of 4-byte chars', big('😀', 512), { type: 'event' }],
    ['2052 bytes of 4-byte chars', big('😀', 513), { type: 'bad_event', seq: 4, reason: 'value_too_big' }],
    ['escaped chars count as their UTF-8 bytes', ev(`"seq":4,"k":"answer","q":"Q","v":"${'\\u00e9'.repeat(1024)}"`), { type: 'event' }],
  ]);
  // The limit comes from config, not a constant.
  check(
    t,
    [
      ['5 bytes under a 5-byte limit', ev('"seq":4,"k":"answer","q":"Q","v":"aé€"'.replace('€', 'bc')), { type: 'event' }],
      ['6 bytes over a 5-byte limit', ev('"seq":4,"k":"answer","q":"Q","v":"aé€"'), { type: 'bad_event', seq: 4, reason: 'value_too_big' }],
    ],
    { maxValueBytes: 5 },
  );
});

t.test('section 1: client time ts', async (t) => {
  const withTs = (ts: string): string => ev(`"seq":5,"k":"open","ts":${ts}`);
  check(t, [
    ['absent', ev('"seq":5,"k":"open"'), { type: 'event', clientTs: null }],
    ['null means absent', withTs('null'), { type: 'event', clientTs: null }],
    ['0', withTs('0'), { type: 'event', clientTs: 0 }],
    ['-0 is 0', withTs('-0'), { type: 'event', clientTs: 0 }],
    ['end of year 9999', withTs('253402300799999'), { type: 'event', clientTs: 253402300799999 }],
    ['one ms past 9999', withTs('253402300800000'), { type: 'bad_event', seq: 5, reason: 'bad_ts' }],
    ['negative', withTs('-1'), { type: 'bad_event', seq: 5, reason: 'bad_ts' }],
    ['fractional', withTs('1764400000000.5'), { type: 'bad_event', seq: 5, reason: 'bad_ts' }],
    ['a string', withTs('"1764400000000"'), { type: 'bad_event', seq: 5, reason: 'bad_ts' }],
    ['true', withTs('true'), { type: 'bad_event', seq: 5, reason: 'bad_ts' }],
    ['Infinity', withTs('1e400'), { type: 'bad_event', seq: 5, reason: 'bad_ts' }],
    ['an object', withTs('{}'), { type: 'bad_event', seq: 5, reason: 'bad_ts' }],
    ['bad ts on an answer', ev('"seq":5,"k":"answer","q":"Q","v":"B","ts":-5'), { type: 'bad_event', seq: 5, reason: 'bad_ts' }],
    ['bad ts on a submit', ev('"seq":5,"k":"submit","ts":"now"'), { type: 'bad_event', seq: 5, reason: 'bad_ts' }],
  ]);
  t.equal(Object.is((decodeClientFrame(withTs('-0'), LIMITS) as { clientTs: number }).clientTs, 0), true, '-0 is stored as +0');
});

t.test('section 1: unknown fields are ignored, and so are q and v on open and submit', async (t) => {
  check(t, [
    ['open', ev('"seq":1,"k":"open","ts":1764400000000'), { type: 'event', seq: 1, kind: 'open', question: null, value: null, clientTs: 1764400000000 }],
    ['submit', ev('"seq":9,"k":"submit"'), { type: 'event', seq: 9, kind: 'submit', question: null, value: null, clientTs: null }],
    ['answer', ev('"seq":42,"k":"answer","q":"Q7","v":"B","ts":1764400000000'), { type: 'event', seq: 42, kind: 'answer', question: 'Q7', value: 'B', clientTs: 1764400000000 }],
    ['open with invalid q and v', ev('"seq":1,"k":"open","q":"bad id!","v":{"x":1}'), { type: 'event', kind: 'open', question: null, value: null }],
    ['submit with a huge v', ev(`"seq":1,"k":"submit","q":"","v":"${'a'.repeat(3000)}"`), { type: 'event', kind: 'submit', question: null, value: null }],
    ['unknown fields', ev('"seq":1,"k":"answer","q":"Q","v":"B","extra":[1,{"deep":null}],"T":"x"'), { type: 'event', value: 'B' }],
    ['keys in another order', '{"v":"B","q":"Q","k":"answer","seq":2,"t":"ev"}', { type: 'event', seq: 2, value: 'B' }],
    ['a duplicate key: the last one wins, as in JSON.parse', ev('"seq":1,"seq":2,"k":"open"'), { type: 'event', seq: 2 }],
  ]);
});

t.test('section 3: hello', async (t) => {
  check(t, [
    ['with a token', '{"t":"hello","token":"v1.a.b"}', { type: 'hello', token: 'v1.a.b', resume: false }],
    ['token missing', '{"t":"hello"}', { type: 'hello', token: '', resume: false }],
    ['token not a string', '{"t":"hello","token":5}', { type: 'hello', token: '', resume: false }],
    ['token null', '{"t":"hello","token":null}', { type: 'hello', token: '', resume: false }],
    ['unknown fields', '{"t":"hello","token":"x","seq":"nope","k":1}', { type: 'hello', token: 'x', resume: false }],
    ['resume true', '{"t":"hello","token":"x","resume":true}', { type: 'hello', token: 'x', resume: true }],
    ['resume not exactly true', '{"t":"hello","token":"x","resume":"yes"}', { type: 'hello', token: 'x', resume: false }],
  ]);
});

t.test('encoders round-trip through the decoder', async (t) => {
  t.same(decodeClientFrame(encodeHello('v1.x"y\\z'), LIMITS), { type: 'hello', token: 'v1.x"y\\z', resume: false });
  t.same(decodeClientFrame(encodeHello('v1.r', true), LIMITS), { type: 'hello', token: 'v1.r', resume: true });
  const events = [
    { seq: 1, kind: 'open', question: null, value: null, clientTs: 1764400000000 },
    { seq: 2, kind: 'answer', question: 'Q7', value: 'line1\n"quoted" \\ é 😀', clientTs: null },
    { seq: 3, kind: 'answer', question: 'Q7', value: '', clientTs: 0 },
    { seq: Number.MAX_SAFE_INTEGER, kind: 'submit', question: null, value: null, clientTs: 253402300799999 },
  ] as const;
  for (const event of events) {
    const text = encodeEvent(event);
    t.same(decodeClientFrame(text, LIMITS), { type: 'event', ...event }, text);
  }
  t.equal(encodeEvent({ seq: 1, kind: 'open', question: null, value: null, clientTs: null }), '{"t":"ev","seq":1,"k":"open"}', 'ts omitted when null');
  // Lone surrogates are escaped by JSON.stringify, so the server sees them and nacks.
  t.has(decodeClientFrame(encodeEvent({ seq: 8, kind: 'answer', question: 'Q', value: '\ud800', clientTs: null }), LIMITS), {
    type: 'bad_event',
    reason: 'value_lone_surrogate',
  });
});

t.test('never throws on hostile shapes', async (t) => {
  const hostile = [
    '['.repeat(100_000) + ']'.repeat(100_000),
    '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000),
    '"' + 'x'.repeat(1_000_000) + '"',
    '\ud800',
    '{"t":"ev","seq":1,"k":"answer","q":"Q","v":"\ud800"}',
    '\u0000',
    '{"t":"ev","seq":1,"k":"open","constructor":{"prototype":{"t":"hello"}}}',
  ];
  for (const text of hostile) t.doesNotThrow(() => decodeClientFrame(text, LIMITS), `${text.slice(0, 20)}...`);
  // A raw (unescaped) lone surrogate in the JS string: ws would have refused it as UTF-8, but even so.
  t.has(decodeClientFrame('{"t":"ev","seq":1,"k":"answer","q":"Q","v":"\ud800"}', LIMITS), { type: 'bad_event', reason: 'value_lone_surrogate' });
});
