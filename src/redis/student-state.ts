// One student's state as the function library keeps it in the bucket's seq hash (field `<student>`):
// the session epoch, the progress, the submit. Read by the export, the roster and session checks.

/** What Redis holds about one student of one exam; times are ms since the epoch unless named µs. */
export interface StudentState {
  /** The newest session claimed by a hello (0 before any). */
  epoch: number;
  /** The highest stored seq, 0 when nothing is stored. */
  lastSeq: number;
  /** The stored submit's seq, 0 when the student has not submitted. */
  submitSeq: number;
  /** Server time of the stored submit, null when none. */
  submittedAt: number | null;
  /** When the gateway received the live session's hello, µs since the epoch; null when unknown. */
  helloUs: number | null;
  /** How many of the student's events are stored. */
  events: number;
  /** Server time of the last stored event, null when none (or stored by library version 1). */
  lastEventAt: number | null;
}

// Version 2 (seven fields) and version 1 (the first four) of the packed state: see src/redis/untradex.lua.
const STATE_V2 = /^(\d+),(\d+),(\d+),(\d*),(\d*),(\d+),(\d*)$/;
const STATE_V1 = /^(\d+),(\d+),(\d+),(\d*)$/;

const optional = (text: string | undefined): number | null => (text === undefined || text === '' ? null : Number(text));

/** Parses a packed state; null when it is not one (the caller names where it was found). */
export function parseStudentState(packed: string): StudentState | null {
  const m = STATE_V2.exec(packed) ?? STATE_V1.exec(packed);
  if (m === null) return null;
  return {
    epoch: Number(m[1]),
    lastSeq: Number(m[2]),
    submitSeq: Number(m[3]),
    submittedAt: m[3] === '0' ? null : optional(m[4]),
    helloUs: optional(m[5]),
    events: m[6] === undefined ? 0 : Number(m[6]),
    lastEventAt: optional(m[7]),
  };
}

/** Fields of the seq hash that are bucket counters, not students (`!` cannot start an id). */
export function isStudentField(field: string): boolean {
  return !field.startsWith('!');
}
