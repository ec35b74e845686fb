// One page of an exam's roster as the control API answers it (GET /api/exams/{exam}/students,
// docs/PROTOCOL.md section 4). Free of Node imports, so the console's browser build shares it.

/** One student of the roster; times are ms since the epoch, or null. */
export interface RosterEntry {
  student: string;
  connected: boolean;
  lastSeq: number;
  events: number;
  lastEventAt: number | null;
  submitted: boolean;
  submittedAt: number | null;
}

export interface RosterPage {
  students: RosterEntry[];
  /** Where the next page starts; null after the last page. */
  cursor: string | null;
}
