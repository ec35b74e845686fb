// docs/PROTOCOL.md sections 1 and 3 restated independently for the hostile-input tests: what one
// WebSocket frame is, judged from its raw bytes, and what the server must answer to it.

/** The limits of section 3 that decide a frame's fate. */
export interface WireLimits {
  maxFrameBytes: number;
  maxValueBytes: number;
}

export type OracleKind = 'open' | 'answer' | 'submit';

/** What a frame is, before any session state is taken into account. */
export type Verdict =
  /** The connection must be closed with `code`, whatever the session's phase. */
  | { kind: 'close'; code: 1007 | 1009 | 4400; rule: string }
  | { kind: 'hello'; token: string }
  | { kind: 'bad_event'; seq: number; rule: string }
  | { kind: 'event'; seq: number; k: OracleKind; q: string | null; v: string | null; ts: number | null };

/** What the server must answer to one frame in a given session state. */
export type Answer =
  | { kind: 'close'; code: number }
  | { kind: 'welcome' }
  | { kind: 'ack'; seq: number }
  | { kind: 'nack'; seq: number; code: 'bad_event' | 'submitted' };

// Keeps a leading U+FEFF in the text, as Buffer#toString does: JSON must then refuse it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ID_CHARS = new Set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-');
const LAST_TS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function isId(value: unknown): value is string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 64) return false;
  for (const char of value) if (!ID_CHARS.has(char)) return false;
  return true;
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function field(object: object, key: string): unknown {
  return Object.getOwnPropertyDescriptor(object, key)?.value;
}

/** Classifies one frame as ws and the gateway together must: size, opcode, UTF-8, then JSON. */
export function classifyFrame(bytes: Uint8Array, binary: boolean, limits: WireLimits): Verdict {
  if (bytes.byteLength > limits.maxFrameBytes) return { kind: 'close', code: 1009, rule: 'too_big' };
  if (binary) return { kind: 'close', code: 4400, rule: 'binary' };
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { kind: 'close', code: 1007, rule: 'utf8' };
  }
  return classifyText(text, limits);
}

export function classifyText(text: string, limits: WireLimits): Verdict {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'close', code: 4400, rule: 'json' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { kind: 'close', code: 4400, rule: 'not_object' };
  const t = field(value, 't');
  if (t === 'hello') {
    const token = field(value, 'token');
    return { kind: 'hello', token: typeof token === 'string' ? token : '' };
  }
  if (t !== 'ev') return { kind: 'close', code: 4400, rule: 'type' };
  const seq = field(value, 'seq');
  if (!isSeq(seq)) return { kind: 'close', code: 4400, rule: 'seq' };
  const bad = (rule: string): Verdict => ({ kind: 'bad_event', seq, rule });
  const k = field(value, 'k');
  if (k !== 'open' && k !== 'answer' && k !== 'submit') return bad('kind');
  const ts = field(value, 'ts');
  if (ts !== undefined && ts !== null && !(typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= 0 && ts <= LAST_TS)) return bad('ts');
  const clientTs = typeof ts === 'number' ? Math.abs(ts) : null;
  if (k !== 'answer') return { kind: 'event', seq, k, q: null, v: null, ts: clientTs };
  const q = field(value, 'q');
  if (!isId(q)) return bad('q');
  const v = field(value, 'v');
  if (typeof v !== 'string') return bad('v_type');
  if (v.indexOf('\u0000') >= 0) return bad('v_nul');
  const utf8 = Buffer.from(v, 'utf8');
  // A lone surrogate cannot be UTF-8: the encoder replaces it, so the round trip differs.
  if (utf8.toString('utf8') !== v) return bad('v_surrogate');
  if (utf8.byteLength > limits.maxValueBytes) return bad('v_size');
  return { kind: 'event', seq, k, q, v, ts: clientTs };
}

/** One student as the server must see it: what is durably stored, and whether it submitted. */
export class StudentModel {
  lastStored = 0;
  submitted = false;
  /** Stored events in seq order: [seq, kind letter, question, value]. */
  readonly stored: Array<[number, string, string, string]> = [];
}

/**
 * The answer section 3 prescribes for one classified frame. `tokenValid` says whether a hello's
 * token is one the server must accept. Does not change the model: call `applyAnswer` for that.
 */
export function expectedAnswer(verdict: Verdict, phase: 'hello' | 'live', tokenValid: (token: string) => boolean, model: StudentModel): Answer {
  if (verdict.kind === 'close') return { kind: 'close', code: verdict.code };
  if (phase === 'hello') {
    if (verdict.kind !== 'hello') return { kind: 'close', code: 4400 };
    return tokenValid(verdict.token) ? { kind: 'welcome' } : { kind: 'close', code: 4401 };
  }
  if (verdict.kind === 'hello') return { kind: 'close', code: 4400 };
  if (verdict.kind === 'bad_event') return { kind: 'nack', seq: verdict.seq, code: 'bad_event' };
  if (verdict.seq <= model.lastStored) return { kind: 'ack', seq: verdict.seq };
  if (model.submitted) return { kind: 'nack', seq: verdict.seq, code: 'submitted' };
  return { kind: 'ack', seq: verdict.seq };
}

/** Records in the model what an accepted new event did. */
export function applyAnswer(verdict: Verdict, model: StudentModel): void {
  if (verdict.kind !== 'event' || verdict.seq <= model.lastStored || model.submitted) return;
  model.lastStored = verdict.seq;
  if (verdict.k === 'submit') model.submitted = true;
  model.stored.push([verdict.seq, verdict.k[0]!, verdict.q ?? '', verdict.v ?? '']);
}

export function describeAnswer(answer: Answer): string {
  switch (answer.kind) {
    case 'close':
      return `close ${answer.code}`;
    case 'welcome':
      return 'welcome';
    case 'ack':
      return 'ack';
    case 'nack':
      return `nack ${answer.code}`;
  }
}
