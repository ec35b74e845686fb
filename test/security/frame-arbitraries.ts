// fast-check arbitraries of student frames, shared by the decoder fuzzers: structured frames from
// pools of valid and invalid field texts, then byte mutations. fast-check shrinks a failing frame
// towards fewer fields, the first texts of each pool and no mutation, so a failure reads small.

import fc from 'fast-check';

/** Raw JSON value texts per field, valid and not, so number spellings like 1e400 or -0 survive. */
export const FIELD_POOL = {
  t: { good: ['"ev"'], bad: ['"hello"', '"EV"', '""', 'null', '1', '"ack"', '["ev"]'] },
  seq: { good: ['1', '2', '42', '9007199254740991', '1.0', '1e2'], bad: ['9007199254740992', '9007199254740993', '0', '-0', '-1', '1.5', '1e400', '"1"', 'null', 'true', '[1]', '{}'] },
  k: { good: ['"answer"', '"answer"', '"open"', '"submit"'], bad: ['"close"', '""', '"OPEN"', 'null', '1', '["open"]'] },
  q: { good: ['"Q7"', '"q_1.a-b"', `"${'a'.repeat(64)}"`], bad: [`"${'a'.repeat(65)}"`, '""', '"Q 7"', '"Qé"', '"Q\\u0000"', 'null', '7', '{}'] },
  v: { good: ['"B"', '""', '"\\ud83d\\ude00"', '"é"', '"€€"', '"abcdefgh"'], bad: ['"\\u0000"', '"a\\u0000"', '"\\ud800"', '"\\udc00x"', '"abcdefghi"', '"€€€"', 'null', '1', '[]', '{}'] },
  ts: { good: ['0', '1764400000000', '253402300799999', '-0', '1e3', 'null'], bad: ['253402300800000', '-1', '1.5', '"1"', 'true', '1e400'] },
  token: { good: ['"v1.abc.def"'], bad: ['""', 'null', '5', '{}'] },
} as const;
/** Fields no frame needs, some of them traps (prototype keys, a second type). */
export const JUNK_FIELDS = ['"x":1', '"__proto__":{"t":"ev","seq":1}', '"Q":"x"', '"constructor":null', '"k2":[[[]]]'];
/** JSON-ish fragments for mutated and garbage text. */
export const NOISE_TEXT = ['{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', '-', 'e', '.', ' ', 'null', 'true', '"t"', '"ev"', '"seq"', '\ud800', 'é'];
/** Byte sequences UTF-8 forbids: overlong, surrogates, past U+10FFFF, stray continuation, truncated. */
const BAD_UTF8 = [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xff], [0xe2, 0x82], [0xc3]];
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-'.split('');

/** Mostly a valid text, sometimes an invalid one: later rules are reached often. */
function fieldText(pool: { good: readonly string[]; bad: readonly string[] }, fresh: fc.Arbitrary<string>[] = []): fc.Arbitrary<string> {
  return fc.oneof({ weight: 6, arbitrary: fc.oneof(fc.constantFrom(...pool.good), ...fresh) }, { weight: 1, arbitrary: fc.constantFrom(...pool.bad) });
}

const seqText = fieldText(FIELD_POOL.seq, [fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map(String)]);
const questionText = fieldText(FIELD_POOL.q, [fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 64 }).map((id) => JSON.stringify(id))]);
// Any code unit, NUL and lone surrogates included: JSON.stringify escapes them as \u0000 and \ud800.
const valueText = fieldText(FIELD_POOL.v, [fc.string({ unit: 'binary', maxLength: 12 }).map((value) => JSON.stringify(value))]);
const tsText = fieldText(FIELD_POOL.ts, [fc.integer({ min: -1, max: 253_402_300_800_000 }).map(String)]);

/** An `ev` frame (or one posing as one): each field present or not, in a drawn order. */
export const eventText: fc.Arbitrary<string> = fc
  .record({
    t: fc.oneof({ weight: 19, arbitrary: fc.constant('"ev"') }, { weight: 1, arbitrary: fc.constantFrom(...FIELD_POOL.t.bad) }),
    seq: fc.option(seqText, { freq: 30 }),
    k: fc.option(fieldText(FIELD_POOL.k), { freq: 30 }),
    q: fc.option(questionText, { freq: 20 }),
    v: fc.option(valueText, { freq: 20 }),
    ts: fc.option(tsText, { freq: 2 }),
    token: fc.option(fieldText(FIELD_POOL.token), { freq: 1, nil: undefined }),
    junk: fc.option(fc.constantFrom(...JUNK_FIELDS), { freq: 1, nil: undefined }),
    order: fc.array(fc.nat(7), { minLength: 8, maxLength: 8 }),
  })
  .map(({ order, junk, ...fields }) => {
    const parts = Object.entries(fields).flatMap(([name, text]) => (text === null || text === undefined ? [] : [`"${name}":${text}`]));
    if (junk !== undefined) parts.push(junk);
    // A stable sort on the drawn keys: all zero (what shrinking heads for) keeps the written order.
    const keyed = parts.map((part, index) => ({ part, key: order[index] ?? 0 }));
    keyed.sort((a, b) => a.key - b.key);
    return `{${keyed.map(({ part }) => part).join(',')}}`;
  });

export const helloText: fc.Arbitrary<string> = fc
  .record({ token: fieldText(FIELD_POOL.token), resume: fc.constantFrom('', ',"resume":true', ',"resume":1') })
  .map(({ token, resume }) => `{"t":"hello","token":${token}${resume}}`);

const garbageText = fc.array(fc.constantFrom(...NOISE_TEXT), { maxLength: 24 }).map((pieces) => pieces.join(''));

/** A text edit at a drawn place: insert noise, delete, truncate, or rotate. */
const textEdit = fc.record({ at: fc.nat(), op: fc.constantFrom('insert', 'delete', 'truncate', 'rotate'), noise: fc.constantFrom(...NOISE_TEXT) });

/** Frame texts: structured events mostly, hellos, garbage, and up to two edits of any of them. */
export const frameText: fc.Arbitrary<string> = fc
  .record({ base: fc.oneof({ weight: 8, arbitrary: eventText }, { weight: 1, arbitrary: helloText }, { weight: 1, arbitrary: garbageText }), edits: fc.array(textEdit, { maxLength: 2 }) })
  .map(({ base, edits }) =>
    edits.reduce((text, { at, op, noise }) => {
      const i = at % (text.length + 1);
      if (op === 'insert') return text.slice(0, i) + noise + text.slice(i);
      if (op === 'delete') return text.slice(0, i) + text.slice(i + 1);
      if (op === 'truncate') return text.slice(0, i);
      return text.slice(i) + text.slice(0, i);
    }, base),
  );

/** A byte edit: a forbidden UTF-8 sequence inserted, one bit flipped, or the frame cut. */
const byteEdit = fc.record({ at: fc.nat(), op: fc.constantFrom('bad_utf8', 'flip', 'truncate'), bad: fc.constantFrom(...BAD_UTF8), bit: fc.nat(7) });

export interface WireFrame {
  bytes: Buffer;
  binary: boolean;
}

/** What a socket may carry: a frame text as UTF-8, byte edits, trailing spaces up to `padUpTo`, sometimes binary. */
export function wireFrame(padUpTo: number): fc.Arbitrary<WireFrame> {
  return fc
    .record({
      text: frameText,
      edits: fc.array(byteEdit, { maxLength: 2 }),
      pad: fc.option(fc.nat(padUpTo), { freq: 10 }),
      binary: fc.oneof({ weight: 19, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    })
    .map(({ text, edits, pad, binary }) => {
      let bytes = Buffer.from(text, 'utf8');
      for (const { at, op, bad, bit } of edits) {
        const i = at % (bytes.length + 1);
        if (op === 'bad_utf8') bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from(bad), bytes.subarray(i)]);
        else if (op === 'truncate') bytes = bytes.subarray(0, i);
        else if (bytes.length > 0) {
          bytes = Buffer.from(bytes);
          const index = Math.min(i, bytes.length - 1);
          bytes[index] = bytes[index]! ^ (1 << bit);
        }
      }
      // Trailing whitespace is valid JSON: only the frame size changes.
      if (pad !== null) bytes = Buffer.concat([bytes, Buffer.alloc(pad, 0x20)]);
      return { bytes, binary };
    });
}
