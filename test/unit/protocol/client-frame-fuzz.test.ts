// Seeded fuzz of the client-frame decoder: 200k random, structured and mutated strings. It must
// never throw, and must classify every input as an independently written oracle does.

import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { decodeClientFrame, encodeEvent, type DecodedClientFrame } from '../../../src/protocol/client-frame.js';

const SEED = Number(process.env.UX_FUZZ_SEED ?? 0x5eed1234);
const CASES = 200_000;

/** mulberry32: tiny, fast and good enough to drive a fuzzer reproducibly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Oracle = { type: 'violation' } | { type: 'bad_event'; seq: number } | Extract<DecodedClientFrame, { type: 'hello' | 'event' }>;

/** docs/PROTOCOL.md sections 1 and 3 restated with other means (isSafeInteger, \w, Date.UTC, isWellFormed). */
function oracle(text: string, maxValueBytes: number): Oracle {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { type: 'violation' };
  }
  if (Object.prototype.toString.call(v) !== '[object Object]') return { type: 'violation' };
  const o = v as object;
  const get = (k: string): unknown => (Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined);
  if (get('t') === 'hello') {
    const token = get('token');
    return { type: 'hello', token: typeof token === 'string' ? token : '', resume: get('resume') === true };
  }
  if (get('t') !== 'ev') return { type: 'violation' };
  const seq = get('seq');
  if (!(typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0)) return { type: 'violation' };
  const bad = { type: 'bad_event', seq } as const;
  const kind = get('k');
  if (!new Set<unknown>(['open', 'answer', 'submit']).has(kind)) return bad;
  const ts = get('ts');
  const tsOk = ts === undefined || ts === null || (typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= 0 && ts <= Date.UTC(9999, 11, 31, 23, 59, 59, 999));
  if (!tsOk) return bad;
  const clientTs = typeof ts === 'number' ? ts + 0 : null;
  if (kind !== 'answer') return { type: 'event', seq, kind: kind as 'open' | 'submit', question: null, value: null, clientTs };
  const q = get('q');
  const val = get('v');
  if (typeof q !== 'string' || !/^[\w.-]{1,64}$/.test(q)) return bad;
  if (typeof val !== 'string' || val.includes('\0')) return bad;
  if (!(val as unknown as { isWellFormed(): boolean }).isWellFormed()) return bad;
  if (Buffer.byteLength(val, 'utf8') > maxValueBytes) return bad;
  return { type: 'event', seq, kind: 'answer', question: q, value: val, clientTs };
}

// Raw JSON value texts per field, valid and not, so number spellings like 1e400 or -0 survive.
// Valid texts are drawn most of the time, so the later rules (value size, NUL...) are reached often.
const POOL = {
  t: { good: ['"ev"'], bad: ['"hello"', '"EV"', '""', 'null', '1', '"ack"', '["ev"]'] },
  seq: { good: ['1', '2', '42', '9007199254740991', '1.0', '1e2'], bad: ['9007199254740992', '9007199254740993', '0', '-0', '-1', '1.5', '1e400', '"1"', 'null', 'true', '[1]', '{}'] },
  k: { good: ['"answer"', '"answer"', '"open"', '"submit"'], bad: ['"close"', '""', '"OPEN"', 'null', '1', '["open"]'] },
  q: { good: ['"Q7"', '"q_1.a-b"', `"${'a'.repeat(64)}"`], bad: [`"${'a'.repeat(65)}"`, '""', '"Q 7"', '"Qé"', '"Q\\u0000"', 'null', '7', '{}'] },
  v: { good: ['"B"', '""', '"\\ud83d\\ude00"', '"é"', '"€€"', '"abcdefgh"'], bad: ['"\\u0000"', '"a\\u0000"', '"\\ud800"', '"\\udc00x"', '"abcdefghi"', '"€€€"', 'null', '1', '[]', '{}'] },
  ts: { good: ['0', '1764400000000', '253402300799999', '-0', '1e3', 'null'], bad: ['253402300800000', '-1', '1.5', '"1"', 'true', '1e400'] },
  token: { good: ['"v1.abc.def"'], bad: ['""', 'null', '5', '{}'] },
} as const;
const JUNK = ['"x":1', '"__proto__":{"t":"ev","seq":1}', '"Q":"x"', '"constructor":null', '"k2":[[[]]]'];

const VALUE_CHARS = ['a', 'Z', '0', ' ', '"', '\\', '\n', 'é', '€', '😀', '\ud800', '\udc00', '\u0000', '\u2028'];
const NOISE = ['{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', '-', 'e', '.', ' ', 'null', 'true', '"t"', '"ev"', '"seq"', '\ud800', 'é'];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)] as T;
}

function randomValue(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) s += pick(r, VALUE_CHARS);
  return JSON.stringify(s);
}

function field(r: () => number, pool: { good: readonly string[]; bad: readonly string[] }): string {
  return pick(r, r() < 0.85 ? pool.good : pool.bad);
}

function structured(r: () => number): string {
  const fields: string[] = [`"t":${r() < 0.05 ? '"hello"' : field(r, POOL.t)}`];
  if (r() < 0.97) fields.push(`"seq":${field(r, POOL.seq)}`);
  if (r() < 0.97) fields.push(`"k":${field(r, POOL.k)}`);
  if (r() < 0.95) fields.push(`"q":${field(r, POOL.q)}`);
  if (r() < 0.95) fields.push(`"v":${r() < 0.7 ? field(r, POOL.v) : randomValue(r)}`);
  if (r() < 0.5) fields.push(`"ts":${field(r, POOL.ts)}`);
  if (r() < 0.2) fields.push(`"token":${field(r, POOL.token)}`);
  if (r() < 0.2) fields.push(pick(r, JUNK));
  for (let i = fields.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [fields[i], fields[j]] = [fields[j] as string, fields[i] as string];
  }
  return `{${fields.join(',')}}`;
}

function mutate(r: () => number, s: string): string {
  const at = Math.floor(r() * (s.length + 1));
  switch (Math.floor(r() * 5)) {
    case 0:
      return s.slice(0, at) + pick(r, NOISE) + s.slice(at);
    case 1:
      return s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 4));
    case 2:
      return s.slice(0, at);
    case 3:
      return s.slice(0, at) + pick(r, NOISE) + s.slice(at + 1);
    default:
      return s.slice(at) + s.slice(0, at);
  }
}

function garbage(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 24);
  for (let i = 0; i < n; i++) s += pick(r, NOISE);
  return s;
}

t.test(`decoder vs oracle on ${CASES} seeded inputs (seed ${SEED})`, async (t) => {
  const r = rng(SEED);
  const seen = new Map<string, number>();
  const mismatches: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const kind = r();
    let text = kind < 0.55 ? structured(r) : kind < 0.9 ? mutate(r, structured(r)) : garbage(r);
    if (r() < 0.1) text = mutate(r, text);
    const maxValueBytes = r() < 0.5 ? 2048 : 8;
    let got: DecodedClientFrame;
    try {
      got = decodeClientFrame(text, { maxValueBytes });
    } catch (error) {
      mismatches.push(`threw on ${JSON.stringify(text)}: ${String(error)}`);
      continue;
    }
    const key = got.type === 'violation' || got.type === 'bad_event' ? `${got.type}:${got.reason}` : got.type;
    seen.set(key, (seen.get(key) ?? 0) + 1);

    const want = oracle(text, maxValueBytes);
    const comparable = got.type === 'violation' ? { type: 'violation' } : got.type === 'bad_event' ? { type: 'bad_event', seq: got.seq } : got;
    if (!isDeepStrictEqual(comparable, want)) {
      mismatches.push(`${JSON.stringify(text)} (max ${maxValueBytes}): got ${JSON.stringify(got)}, oracle ${JSON.stringify(want)}`);
      continue;
    }
    if (!isDeepStrictEqual(decodeClientFrame(text, { maxValueBytes }), got)) mismatches.push(`not deterministic on ${JSON.stringify(text)}`);
    // An accepted event re-encoded by the client encoder must decode to itself.
    if (got.type === 'event' && !isDeepStrictEqual(decodeClientFrame(encodeEvent(got), { maxValueBytes }), got)) {
      mismatches.push(`encodeEvent round trip changed ${JSON.stringify(got)}`);
    }
  }
  t.same(mismatches.slice(0, 10), [], `no mismatches (${mismatches.length} in all)`);
  // A fuzzer that never reaches a rule tests nothing: every outcome must show up often.
  const outcomes = ['hello', 'event', 'violation:bad_json', 'violation:not_object', 'violation:bad_type', 'violation:bad_seq', 'bad_event:bad_kind', 'bad_event:bad_question', 'bad_event:bad_value', 'bad_event:value_too_big', 'bad_event:value_nul', 'bad_event:value_lone_surrogate', 'bad_event:bad_ts'];
  for (const outcome of outcomes) t.ok((seen.get(outcome) ?? 0) >= 100, `${outcome} reached ${seen.get(outcome) ?? 0} times`);
});
