// A million seeded hostile frames through the gateway's pure pipeline (size, opcode, UTF-8 check as
// ws does it, then decodeClientFrame), each compared with an independent oracle; memory stays flat.

import { isUtf8 } from 'node:buffer';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import t from 'tap';
import { decodeClientFrame } from '../../src/protocol/client-frame.js';
import { checkProperty } from '../helpers/property.js';
import { recordReliability } from '../helpers/reliability-record.js';
import { wireFrame } from './frame-arbitraries.js';
import { FrameGenerator, rng } from './frame-generator.js';
import { classifyFrame, type Verdict, type WireLimits } from './wire-oracle.js';

const SEED = Number(process.env.UX_FUZZ_SEED ?? 0x0b5e55ed);
const CASES = Number(process.env.UX_FUZZ_CASES ?? 1_000_000);
const LIMITS: WireLimits = { maxFrameBytes: 4096, maxValueBytes: 2048 };
const SMALL_LIMITS: WireLimits = { maxFrameBytes: 512, maxValueBytes: 8 };

/** What the gateway does with one frame: ws's maxPayload and UTF-8 check (buffer.isUtf8 in ws 8), then the decoder. */
function gateway(bytes: Buffer, binary: boolean, limits: WireLimits): Verdict {
  if (bytes.byteLength > limits.maxFrameBytes) return { kind: 'close', code: 1009, rule: '' };
  if (binary) return { kind: 'close', code: 4400, rule: '' };
  if (!isUtf8(bytes)) return { kind: 'close', code: 1007, rule: '' };
  const frame = decodeClientFrame(bytes.toString('utf8'), { maxValueBytes: limits.maxValueBytes });
  switch (frame.type) {
    case 'violation':
      return { kind: 'close', code: 4400, rule: '' };
    case 'hello':
      return { kind: 'hello', token: frame.token };
    case 'bad_event':
      return { kind: 'bad_event', seq: frame.seq, rule: '' };
    case 'event':
      return { kind: 'event', seq: frame.seq, k: frame.kind, q: frame.question, v: frame.value, ts: frame.clientTs };
  }
}

function same(a: Verdict, b: Verdict): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'close':
      return a.code === (b as typeof a).code;
    case 'hello':
      return a.token === (b as typeof a).token;
    case 'bad_event':
      return a.seq === (b as typeof a).seq;
    case 'event': {
      const o = b as typeof a;
      return a.seq === o.seq && a.k === o.k && a.q === o.q && a.v === o.v && Object.is(a.ts, o.ts);
    }
  }
}

function outcomeKey(verdict: Verdict): string {
  return verdict.kind === 'close' ? `close ${verdict.code} (${verdict.rule})` : verdict.kind === 'bad_event' ? `nack bad_event (${verdict.rule})` : verdict.kind;
}

function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

t.test(`${CASES} hostile frames: the gateway pipeline agrees with the oracle (seed ${SEED})`, async (t) => {
  const gc = collectGarbage();
  const seqs = rng(SEED ^ 0x9e3779b9);
  const tokens = ['v1.eyJlIjoiRSIsInMiOiJTIiwieCI6OTl9.c2ln', '', 'v1..', 'x'.repeat(300)];
  const weights = { event: 30, hello: 5, mutated_text: 15, mutated_bytes: 15, deep: 3, huge_number: 6, bad_id: 6, big_value: 3, oversize: 2, binary: 3, garbage: 5 };
  const generators = [LIMITS, SMALL_LIMITS].map(
    (limits, index) =>
      new FrameGenerator(SEED + index, {
        ...limits,
        goodSeq: () => 1 + Math.floor(seqs() * (seqs() < 0.9 ? 1000 : Number.MAX_SAFE_INTEGER)),
        tokens: () => tokens,
        weights,
      }),
  );

  // Thrown SyntaxErrors (JSON.parse) and TypeErrors (the strict UTF-8 decoder) are most of the
  // cost of bad frames when stacks are captured, and source maps make that worse; none is read.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  t.teardown(() => {
    Error.stackTraceLimit = stackTraceLimit;
  });
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const outcomes = new Map<string, number>();
  const families = new Map<string, number>();
  const mismatches: string[] = [];
  let mismatchCount = 0;
  for (let i = 0; i < CASES; i++) {
    // One frame in four uses tiny limits: the size rules are hit from both sides often, cheaply.
    const small = (i & 3) === 3;
    const limits = small ? SMALL_LIMITS : LIMITS;
    const frame = generators[small ? 1 : 0]!.next();
    let got: Verdict;
    try {
      got = gateway(frame.bytes, frame.binary, limits);
    } catch (error) {
      mismatchCount += 1;
      if (mismatches.length < 10) mismatches.push(`threw on ${frame.bytes.toString('base64')}: ${String(error)}`);
      continue;
    }
    const want = classifyFrame(frame.bytes, frame.binary, limits);
    if (!same(got, want)) {
      mismatchCount += 1;
      if (mismatches.length < 10) mismatches.push(`${frame.family} ${frame.binary ? 'binary' : 'text'} ${frame.bytes.toString('base64')}: gateway ${JSON.stringify(got)}, oracle ${JSON.stringify(want)}`);
    }
    const key = outcomeKey(want);
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    families.set(frame.family, (families.get(frame.family) ?? 0) + 1);
  }
  gc();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;

  t.same(mismatches, [], `no disagreement and no throw (${mismatchCount} in all)`);
  t.ok(heapGrowth < 16 * 1024 * 1024, `heap after ${CASES} frames grew by ${(heapGrowth / 1048576).toFixed(1)} MiB (< 16 MiB)`);
  // A fuzzer that never reaches a rule tests nothing: every rule must be hit many times.
  const required = [
    'close 1009 (too_big)', 'close 4400 (binary)', 'close 1007 (utf8)', 'close 4400 (json)', 'close 4400 (not_object)', 'close 4400 (type)',
    'close 4400 (seq)', 'hello', 'event', 'nack bad_event (kind)', 'nack bad_event (ts)', 'nack bad_event (q)', 'nack bad_event (v_type)',
    'nack bad_event (v_nul)', 'nack bad_event (v_surrogate)', 'nack bad_event (v_size)',
  ];
  for (const key of required) t.ok((outcomes.get(key) ?? 0) >= 500, `${key}: ${outcomes.get(key) ?? 0}`);
  t.comment([...outcomes].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${key}: ${n}`).join(', '));
  t.comment([...families].map(([key, n]) => `${key}: ${n}`).join(', '));

  const summary = (['close 1009', 'close 1007', 'close 4400', 'nack bad_event', 'hello', 'event'] as const).map((prefix) => {
    let n = 0;
    for (const [key, count] of outcomes) if (key.startsWith(prefix)) n += count;
    return `${prefix}: ${n}`;
  });
  recordReliability({
    kind: 'hostile',
    scenario: 'frames through the decoder (pure pipeline)',
    inputs: CASES,
    outcome: summary.join(', '),
    harmed: mismatchCount,
    note: `seed ${SEED}; gateway pipeline vs independent oracle; heap growth ${(heapGrowth / 1048576).toFixed(1)} MiB`,
  });
});

t.test('the gateway pipeline agrees with the oracle, as a fast-check property: a failure is shrunk and printed with its seed', async (t) => {
  const frames = fc.oneof(
    wireFrame(LIMITS.maxFrameBytes).map((frame) => ({ ...frame, limits: LIMITS })),
    wireFrame(SMALL_LIMITS.maxFrameBytes).map((frame) => ({ ...frame, limits: SMALL_LIMITS })),
  );
  checkProperty(t, 'gateway pipeline vs oracle', frames, ({ bytes, binary, limits }) => {
    const got = gateway(bytes, binary, limits);
    const want = classifyFrame(bytes, binary, limits);
    if (!same(got, want)) throw new Error(`${JSON.stringify(bytes.toString('utf8'))}${binary ? ' (binary)' : ''}: gateway ${JSON.stringify(got)}, oracle ${JSON.stringify(want)}`);
  }, { numRuns: 20_000 });
});

t.test('nesting as deep as the largest allowed frame (1 MiB) decodes without a throw', async (t) => {
  const limits: WireLimits = { maxFrameBytes: 1_048_576, maxValueBytes: 2048 };
  const depth = 500_000;
  const cases: Array<[string, string]> = [
    ['arrays in an ignored field', `{"t":"ev","seq":7,"k":"open","x":${'['.repeat(depth)}${']'.repeat(depth)}}`],
    ['objects as the whole frame', `${'{"a":'.repeat(depth / 3)}1${'}'.repeat(depth / 3)}`],
    ['arrays as the seq', `{"t":"ev","seq":${'['.repeat(depth)}${']'.repeat(depth)},"k":"open"}`],
    ['arrays as the value', `{"t":"ev","seq":7,"k":"answer","q":"Q","v":${'['.repeat(depth)}${']'.repeat(depth)}}`],
    ['unclosed arrays', '['.repeat(depth * 2)],
  ];
  for (const [what, text] of cases) {
    const bytes = Buffer.from(text);
    t.ok(bytes.byteLength <= limits.maxFrameBytes, `${what} fits the frame`);
    const got = gateway(bytes, false, limits);
    const want = classifyFrame(bytes, false, limits);
    t.ok(same(got, want), `${what}: gateway ${got.kind}, oracle ${want.kind}`);
  }
});
