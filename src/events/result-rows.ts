// The rows of the final tables (docs/PROTOCOL.md section 5) as exporters hand them to a sink.
// Times are ms since the Unix epoch (UTC); each sink maps them to its own column type.

export interface AnswerRow {
  examId: string;
  studentId: string;
  questionId: string;
  /** "" when the student cleared the answer; Oracle stores it as NULL. */
  value: string;
  seq: number;
  /** The client's ts of the answer, or null. */
  answeredAt: number | null;
  /** Server time when the answer reached the gateway. */
  receivedAt: number;
}

export interface EventRow {
  examId: string;
  studentId: string;
  seq: number;
  kind: 'open' | 'answer' | 'submit';
  questionId: string | null;
  value: string | null;
  clientTs: number | null;
  serverTs: number;
}

export interface SubmissionRow {
  examId: string;
  studentId: string;
  submittedAt: number;
  /** The submit event's seq. */
  lastSeq: number;
}
