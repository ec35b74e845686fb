// One exam as the control API's exam list shows it (GET /api/exams, docs/PROTOCOL.md section 4).
// Free of Node imports, so the console's browser build shares it with the server.

export type ExamState = 'open' | 'closing' | 'exporting' | 'exported' | 'failed';

/** One exam as the exam list shows it (GET /api/exams). */
export interface ExamSummary {
  exam: string;
  state: ExamState;
  /** Students with at least one stored event. */
  students: number;
  /** Stored events. */
  events: number;
  /** Students whose submit is stored. */
  submitted: number;
  /** Students with a live session on any gateway process, as known within 10 s. */
  connected: number;
}
