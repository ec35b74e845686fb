// Seeded fuzz of the client-frame decoder: 200k random, structured and mutated strings. It must
// never throw, and must classify every input as an independently written oracle does.

import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { decodeClientFrame, encodeEvent, type DecodedClientFrame } from '../../../src/protocol/client-frame.js';
import { checkProperty } from '../../helpers/property.js';
import { seededUnit as rng } from '../../helpers/seeded-random.js';
import { FIELD_POOL, frameText, JUNK_FIELDS, NOISE_TEXT } from '../../security/frame-arbitraries.js';

const SEED = Number(process.env.UX_FUZZ_SEED ?? 0x5eed1234);
const CASES = 200_000;

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

const VALUE_CHARS = ['a', 'Z', '0', ' ', '"', '\\', '\n', 'é', '€', '😀', '\ud800', '\udc00', '\u0000', '\u2028'];

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
  const fields: string[] = [`"t":${r() < 0.05 ? '"hello"' : field(r, FIELD_POOL.t)}`];
  if (r() < 0.97) fields.push(`"seq":${field(r, FIELD_POOL.seq)}`);
  if (r() < 0.97) fields.push(`"k":${field(r, FIELD_POOL.k)}`);
  if (r() < 0.95) fields.push(`"q":${field(r, FIELD_POOL.q)}`);
  if (r() < 0.95) fields.push(`"v":${r() < 0.7 ? field(r, FIELD_POOL.v) : randomValue(r)}`);
  if (r() < 0.5) fields.push(`"ts":${field(r, FIELD_POOL.ts)}`);
  if (r() < 0.2) fields.push(`"token":${field(r, FIELD_POOL.token)}`);
  if (r() < 0.2) fields.push(pick(r, JUNK_FIELDS));
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
      return s.slice(0, at) + pick(r, NOISE_TEXT) + s.slice(at);
    case 1:
      return s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 4));
    case 2:
      return s.slice(0, at);
    case 3:
      return s.slice(0, at) + pick(r, NOISE_TEXT) + s.slice(at + 1);
    default:
      return s.slice(at) + s.slice(0, at);
  }
}

function garbage(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 24);
  for (let i = 0; i < n; i++) s += pick(r, NOISE_TEXT);
  return s;
}

/**
 * One input through the decoder, checked against the oracle, for determinism, and for the round
 * trip of an accepted event; returns the decoded frame, or what went wrong. The seeded loop and the
 * fast-check property below both call it.
 */
function checkOne(text: string, maxValueBytes: number): { got: DecodedClientFrame } | { problem: string } {
  let got: DecodedClientFrame;
  try {
    got = decodeClientFrame(text, { maxValueBytes });
  } catch (error) {
    return { problem: `threw on ${JSON.stringify(text)}: ${String(error)}` };
  }
  const want = oracle(text, maxValueBytes);
  const comparable = got.type === 'violation' ? { type: 'violation' } : got.type === 'bad_event' ? { type: 'bad_event', seq: got.seq } : got;
  if (!isDeepStrictEqual(comparable, want)) return { problem: `${JSON.stringify(text)} (max ${maxValueBytes}): got ${JSON.stringify(got)}, oracle ${JSON.stringify(want)}` };
  if (!isDeepStrictEqual(decodeClientFrame(text, { maxValueBytes }), got)) return { problem: `not deterministic on ${JSON.stringify(text)}` };
  // An accepted event re-encoded by the client encoder must decode to itself.
  if (got.type === 'event' && !isDeepStrictEqual(decodeClientFrame(encodeEvent(got), { maxValueBytes }), got)) return { problem: `encodeEvent round trip changed ${JSON.stringify(got)}` };
  return { got };
}

t.test(`decoder vs oracle on ${CASES} seeded inputs (seed ${SEED})`, async (t) => {
  const r = rng(SEED);
  const seen = new Map<string, number>();
  const mismatches: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const kind = r();
    let text = kind < 0.55 ? structured(r) : kind < 0.9 ? mutate(r, structured(r)) : garbage(r);
    if (r() < 0.1) text = mutate(r, text);
    const result = checkOne(text, r() < 0.5 ? 2048 : 8);
    if ('problem' in result) {
      mismatches.push(result.problem);
      continue;
    }
    const { got } = result;
    const key = got.type === 'violation' || got.type === 'bad_event' ? `${got.type}:${got.reason}` : got.type;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  t.same(mismatches.slice(0, 10), [], `no mismatches (${mismatches.length} in all)`);
  // A fuzzer that never reaches a rule tests nothing: every outcome must show up often.
  const outcomes = ['hello', 'event', 'violation:bad_json', 'violation:not_object', 'violation:bad_type', 'violation:bad_seq', 'bad_event:bad_kind', 'bad_event:bad_question', 'bad_event:bad_value', 'bad_event:value_too_big', 'bad_event:value_nul', 'bad_event:value_lone_surrogate', 'bad_event:bad_ts'];
  for (const outcome of outcomes) t.ok((seen.get(outcome) ?? 0) >= 100, `${outcome} reached ${seen.get(outcome) ?? 0} times`);
});

t.test('decoder vs oracle, as a fast-check property: a failure is shrunk and printed with its seed', async (t) => {
  checkProperty(t, 'decodeClientFrame agrees with the oracle', fc.record({ text: frameText, maxValueBytes: fc.constantFrom(2048, 8) }), ({ text, maxValueBytes }) => {
    const result = checkOne(text, maxValueBytes);
    if ('problem' in result) throw new Error(result.problem);
  }, { numRuns: 20_000 });
});
