// The domain record of one student event (open, answer, submit) as Untradex stores it.
// Shared by the protocol decoder, the ring codec, the Redis function and the exporters.

export type EventKind = 'open' | 'answer' | 'submit';

/** Identifiers of exams, students and questions: docs/PROTOCOL.md section 1. */
export const MAX_ID_LENGTH = 64;
export const ID_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${MAX_ID_LENGTH}}$`);

/** Largest seq a client may use (2^53 - 1). */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** Largest client timestamp: the last millisecond of the year 9999. */
export const MAX_CLIENT_TS = 253402300799999;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export function isValidSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_SEQ;
}

export interface AnswerEvent {
  exam: string;
  student: string;
  seq: number;
  kind: EventKind;
  /** Present for `answer`, null otherwise. */
  question: string | null;
  /** Present for `answer` ("" clears the answer), null otherwise. */
  value: string | null;
  /** The client's clock in ms since the epoch, or null when the client sent none. */
  clientTs: number | null;
  /** The gateway's clock in ms when the event reached it. */
  serverTs: number;
}

/**
 * What the Redis write function decided for one event. Numeric because it travels in ring
 * records and Redis replies; the names are what the rest of the code speaks.
 */
export const WriteOutcome = {
  /** Written durably now. */
  Stored: 0,
  /** seq <= the student's stored lastSeq: already durable, ack again. */
  Duplicate: 1,
  /** The exam is closing or closed: nack exam_closed. */
  ExamClosed: 2,
  /** The student already submitted: nack submitted. */
  Submitted: 3,
  /** The event came through a session that a newer hello replaced: not stored, connection is told `replaced`. */
  StaleSession: 4,
  /**
   * Not from Redis: the writer's verdict on an event whose write alone raised, twice, while the
   * rest of its batch was written (actors/redis-writer/poison-isolation.ts). Never stored: nack bad_event.
   */
  BadEvent: 5,
  /**
   * Not from Redis: the writer's verdict on an event whose shard (Cluster mode) failed with a
   * transient error or passed writers.shardWaitMs, or that follows such an event of the same
   * session. Not stored, not acked: the connection gets `err busy` and close 1013, and the client
   * resends from the welcome's lastSeq (docs/PROTOCOL.md section 3, rules 2 and 6).
   */
  Unavailable: 6,
} as const;

export type WriteOutcome = (typeof WriteOutcome)[keyof typeof WriteOutcome];

export function isWriteOutcome(value: unknown): value is WriteOutcome {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= WriteOutcome.Unavailable;
}
