// Codec of the frames a student client sends (docs/PROTOCOL.md sections 1 and 3): the server's
// total decoder, which never throws, and the client library's encoders.

import { isValidId, isValidSeq, MAX_CLIENT_TS, type EventKind } from '../events/answer-event.js';

/** Why a frame closes the connection with 4400. */
export type ViolationReason = 'bad_json' | 'not_object' | 'bad_type' | 'bad_seq';

/** Why one event gets `nack bad_event` (its seq was valid, so it can be nacked). */
export type BadEventReason =
  | 'bad_kind'
  | 'bad_question'
  | 'bad_value'
  | 'value_too_big'
  | 'value_nul'
  | 'value_lone_surrogate'
  | 'bad_ts';

export type DecodedClientFrame =
  /** `token` is '' when missing or not a string; the server answers 4401. `resume`: only `true` asks for the answers frame. */
  | { type: 'hello'; token: string; resume: boolean }
  | {
      type: 'event';
      seq: number;
      kind: EventKind;
      question: string | null;
      value: string | null;
      clientTs: number | null;
    }
  | { type: 'bad_event'; seq: number; reason: BadEventReason }
  | { type: 'violation'; reason: ViolationReason };

export interface ClientFrameLimits {
  /** `gateway.maxValueBytes`: the largest answer value, in UTF-8 bytes. */
  maxValueBytes: number;
}

// Frozen and shared: the hot path allocates no result object for the common failures.
const VIOLATION = {
  bad_json: Object.freeze({ type: 'violation', reason: 'bad_json' }),
  not_object: Object.freeze({ type: 'violation', reason: 'not_object' }),
  bad_type: Object.freeze({ type: 'violation', reason: 'bad_type' }),
  bad_seq: Object.freeze({ type: 'violation', reason: 'bad_seq' }),
} as const satisfies Record<ViolationReason, DecodedClientFrame>;

/**
 * Classifies one client text frame. The frame is already known to be valid UTF-8 and within
 * `gateway.maxFrameBytes` (ws enforces both), so JSON.parse is affordable; this function still
 * returns a result, never throws, for any string at all.
 */
export function decodeClientFrame(text: string, limits: ClientFrameLimits): DecodedClientFrame {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return VIOLATION.bad_json;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return VIOLATION.not_object;
  const frame = parsed as Record<string, unknown>;
  const t = ownField(frame, 't');
  if (t === 'ev') return decodeEvent(frame, limits);
  if (t === 'hello') {
    const token = ownField(frame, 'token');
    return { type: 'hello', token: typeof token === 'string' ? token : '', resume: ownField(frame, 'resume') === true };
  }
  return VIOLATION.bad_type;
}

function decodeEvent(frame: Record<string, unknown>, limits: ClientFrameLimits): DecodedClientFrame {
  const seq = ownField(frame, 'seq');
  if (!isValidSeq(seq)) return VIOLATION.bad_seq;

  const kind = ownField(frame, 'k');
  if (kind !== 'open' && kind !== 'answer' && kind !== 'submit') return { type: 'bad_event', seq, reason: 'bad_kind' };

  const rawTs = ownField(frame, 'ts');
  let clientTs: number | null = null;
  if (rawTs !== undefined && rawTs !== null) {
    if (typeof rawTs !== 'number' || !Number.isInteger(rawTs) || rawTs < 0 || rawTs > MAX_CLIENT_TS) {
      return { type: 'bad_event', seq, reason: 'bad_ts' };
    }
    clientTs = rawTs === 0 ? 0 : rawTs; // -0 is a valid JSON number; store it as 0
  }
  if (kind !== 'answer') return { type: 'event', seq, kind, question: null, value: null, clientTs };

  const question = ownField(frame, 'q');
  if (!isValidId(question)) return { type: 'bad_event', seq, reason: 'bad_question' };
  const value = ownField(frame, 'v');
  if (typeof value !== 'string') return { type: 'bad_event', seq, reason: 'bad_value' };
  const valueProblem = checkValue(value, limits.maxValueBytes);
  if (valueProblem !== null) return { type: 'bad_event', seq, reason: valueProblem };
  return { type: 'event', seq, kind, question, value, clientTs };
}

/**
 * One pass over the UTF-16 code units: counts UTF-8 bytes (stopping once over the limit) and
 * finds U+0000 and lone surrogates, which UTF-8 cannot carry and Buffer would silently replace.
 */
function checkValue(value: string, maxBytes: number): BadEventReason | null {
  // Every code unit takes at least one byte and at most three, so short strings skip the count.
  let bytes = value.length <= maxBytes / 3 ? -Infinity : 0;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) return 'value_nul';
      bytes += 1;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? value.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return 'value_lone_surrogate';
      bytes += 4;
      i++;
    } else {
      bytes += 3;
    }
    if (bytes > maxBytes) return 'value_too_big';
  }
  return null;
}

// Own properties only: a parsed `{"__proto__": ...}` or a polluted prototype must not supply fields.
function ownField(frame: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(frame, key) ? frame[key] : undefined;
}

/** The first frame of every connection; `resume` asks for the student's stored answers (section 3). */
export function encodeHello(token: string, resume = false): string {
  return `{"t":"hello","token":${JSON.stringify(token)}${resume ? ',"resume":true' : ''}}`;
}

export interface ClientEventFields {
  seq: number;
  kind: EventKind;
  /** Sent for `answer` only. */
  question: string | null;
  /** Sent for `answer` only. */
  value: string | null;
  /** Omitted from the frame when null. */
  clientTs: number | null;
}

/** One `ev` frame. It does not validate: the server is the judge, and tests send bad events on purpose. */
export function encodeEvent(event: ClientEventFields): string {
  let text = `{"t":"ev","seq":${event.seq},"k":"${event.kind}"`;
  if (event.kind === 'answer') {
    text += `,"q":${JSON.stringify(event.question)},"v":${JSON.stringify(event.value)}`;
  }
  if (event.clientTs !== null) text += `,"ts":${event.clientTs}`;
  return text + '}';
}
