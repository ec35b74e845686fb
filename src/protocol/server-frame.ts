// Codec of the frames the server sends to a student (docs/PROTOCOL.md section 3): string-built
// encoders for the hot path, and the client library's strict decoder.

import { isValidId, MAX_SEQ } from '../events/answer-event.js';

export type NackCode = 'exam_closed' | 'submitted' | 'bad_event';
export type ErrCode = 'unauthorized' | 'bad_request' | 'rate_limited' | 'busy' | 'replaced';
export type ExamOpenState = 'open' | 'closed';

export const NACK_CODES: readonly NackCode[] = ['exam_closed', 'submitted', 'bad_event'];
export const ERR_CODES: readonly ErrCode[] = ['unauthorized', 'bad_request', 'rate_limited', 'busy', 'replaced'];

export interface WelcomeFrame {
  exam: string;
  student: string;
  /** Highest seq durably stored for the student, 0 if none. */
  lastSeq: number;
  state: ExamOpenState;
  /** The server's clock, ms since the epoch. */
  serverTime: number;
}

/** One question's last stored answer, as the `answers` frame carries it. */
export interface StoredAnswer {
  v: string;
  seq: number;
}

/** The `answers` frame (resume): a Map, since a question id may be `__proto__`. */
export interface AnswersFrame {
  answers: Map<string, StoredAnswer>;
  submitted: boolean;
}

export type ServerFrame =
  | ({ t: 'welcome' } & WelcomeFrame)
  | ({ t: 'answers' } & AnswersFrame)
  | { t: 'ack'; seq: number }
  | { t: 'nack'; seq: number; code: NackCode }
  | { t: 'err'; code: ErrCode; msg: string }
  | { t: 'closed' };

/** Sent once per connection, so JSON.stringify's quoting of every string costs nothing that matters. */
export function encodeWelcome(welcome: WelcomeFrame): string {
  return JSON.stringify({
    t: 'welcome',
    exam: welcome.exam,
    student: welcome.student,
    lastSeq: welcome.lastSeq,
    state: welcome.state,
    serverTime: welcome.serverTime,
  });
}

/** Sent once per resumed connection; JSON.stringify quotes the student's values exactly. */
export function encodeAnswers(frame: AnswersFrame): string {
  const answers: Record<string, StoredAnswer> = Object.create(null) as Record<string, StoredAnswer>;
  for (const [question, answer] of frame.answers) answers[question] = { v: answer.v, seq: answer.seq };
  return `{"t":"answers","answers":${JSON.stringify(answers)},"submitted":${frame.submitted}}`;
}

// The hot-path frames carry only integers and fixed codes, so concatenation is exact JSON.
export function encodeAck(seq: number): string {
  return `{"t":"ack","seq":${seq}}`;
}

export function encodeNack(seq: number, code: NackCode): string {
  return `{"t":"nack","seq":${seq},"code":"${code}"}`;
}

export function encodeErr(code: ErrCode, msg: string): string {
  return `{"t":"err","code":"${code}","msg":${JSON.stringify(msg)}}`;
}

const CLOSED_FRAME = '{"t":"closed"}';

export function encodeClosed(): string {
  return CLOSED_FRAME;
}

/**
 * Parses one server frame for a client. Returns null for anything that is not a well-formed
 * frame of this protocol version (bad JSON, unknown `t`, missing or mistyped fields, unknown
 * codes); unknown extra fields are ignored. Never throws.
 */
export function decodeServerFrame(text: string): ServerFrame | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const f = parsed as Record<string, unknown>;
  switch (own(f, 't')) {
    case 'ack': {
      const seq = own(f, 'seq');
      return isSeqOrZero(seq) ? { t: 'ack', seq } : null;
    }
    case 'nack': {
      const seq = own(f, 'seq');
      const code = own(f, 'code');
      return isSeqOrZero(seq) && isOneOf(code, NACK_CODES) ? { t: 'nack', seq, code } : null;
    }
    case 'err': {
      const code = own(f, 'code');
      const msg = own(f, 'msg');
      if (!isOneOf(code, ERR_CODES)) return null;
      return { t: 'err', code, msg: typeof msg === 'string' ? msg : '' };
    }
    case 'closed':
      return { t: 'closed' };
    case 'welcome':
      return decodeWelcome(f);
    case 'answers':
      return decodeAnswers(f);
    default:
      return null;
  }
}

function decodeWelcome(f: Record<string, unknown>): ServerFrame | null {
  const exam = own(f, 'exam');
  const student = own(f, 'student');
  const lastSeq = own(f, 'lastSeq');
  const state = own(f, 'state');
  const serverTime = own(f, 'serverTime');
  if (typeof exam !== 'string' || typeof student !== 'string') return null;
  if (!isSeqOrZero(lastSeq)) return null;
  if (state !== 'open' && state !== 'closed') return null;
  if (typeof serverTime !== 'number' || !Number.isFinite(serverTime)) return null;
  return { t: 'welcome', exam, student, lastSeq, state, serverTime };
}

function decodeAnswers(f: Record<string, unknown>): ServerFrame | null {
  const raw = own(f, 'answers');
  const submitted = own(f, 'submitted');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || typeof submitted !== 'boolean') return null;
  const answers = new Map<string, StoredAnswer>();
  for (const [question, answer] of Object.entries(raw as Record<string, unknown>)) {
    if (!isValidId(question) || typeof answer !== 'object' || answer === null) return null;
    const v = own(answer as Record<string, unknown>, 'v');
    const seq = own(answer as Record<string, unknown>, 'seq');
    if (typeof v !== 'string' || !isSeqOrZero(seq) || seq === 0) return null;
    answers.set(question, { v, seq });
  }
  return { t: 'answers', answers, submitted };
}

function isSeqOrZero(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_SEQ;
}

function isOneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value);
}

function own(f: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(f, key) ? f[key] : undefined;
}
