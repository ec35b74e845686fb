// The roster of one exam, paged (GET /api/exams/{exam}/students): each bucket's roster set read by
// name with ux_roster, so a page costs in proportion to the page, never to the exam.

import { isValidId } from '../events/answer-event.js';
import { RedisScriptError } from '../errors.js';
import { bucketKeys } from './bucket-keys.js';
import { callFunction, describe } from './bucket-store.js';
import type { RedisClient } from './redis-client.js';
import { parseStudentState } from './student-state.js';

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

/** Where a page starts: a bucket, and the last student name already listed in it ('' for none). */
export interface RosterPosition {
  bucket: number;
  after: string;
}

/**
 * Buckets read at once when a page is not full yet. A small exam spread over many buckets would
 * otherwise cost one round trip per empty bucket; the waves grow 1, 2, 4... up to this, and each
 * call asks only for what the page still lacks, so the excess read is bounded by the wave.
 */
const MAX_WAVE = 16;
/** Roster entries one call may look at beyond the page (students who connected once, stored nothing, left). */
const SKIP_BUDGET_FACTOR = 4;

/** The cursor is `<bucket>:<last student>`; `:` is in no id, so it splits unambiguously. */
export function formatRosterCursor(position: RosterPosition): string {
  return `${position.bucket}:${position.after}`;
}

/** Parses a cursor of this exam's bucket count; null when it is not one (the caller answers 400). */
export function parseRosterCursor(cursor: string, buckets: number): RosterPosition | null {
  const match = /^(\d{1,5}):(.*)$/.exec(cursor);
  if (match === null) return null;
  const bucket = Number(match[1]);
  const after = match[2]!;
  if (bucket >= buckets || (after !== '' && !isValidId(after))) return null;
  return { bucket, after };
}

interface BucketSlice {
  last: string;
  done: boolean;
  rows: RosterEntry[];
}

export class ExamRoster {
  constructor(
    private readonly redis: RedisClient,
    private readonly buckets: number,
  ) {}

  /**
   * Up to `limit` students from `from` on. Every student with a stored event or a live session
   * appears exactly once over the pages of one walk (names only grow past a cursor, and a bucket is
   * read in name order); students who join a bucket behind the cursor during the walk are seen by
   * the next walk.
   */
  async page(exam: string, limit: number, from: RosterPosition = { bucket: 0, after: '' }, now: number = Date.now()): Promise<RosterPage> {
    const students: RosterEntry[] = [];
    let bucket = from.bucket;
    let after = from.after;
    let wave = 1;
    while (bucket < this.buckets) {
      const remaining = limit - students.length;
      const count = Math.min(wave, this.buckets - bucket);
      const slices = await Promise.all(
        Array.from({ length: count }, (_, i) => this.readBucket(exam, bucket + i, i === 0 ? after : '', remaining, now)),
      );
      for (let i = 0; i < slices.length; i++) {
        const slice = slices[i]!;
        const room = limit - students.length;
        if (slice.rows.length > room) {
          // The page fills inside this bucket: the next page starts after the last student taken.
          students.push(...slice.rows.slice(0, room));
          return { students, cursor: formatRosterCursor({ bucket: bucket + i, after: students[students.length - 1]!.student }) };
        }
        students.push(...slice.rows);
        if (!slice.done) return { students, cursor: formatRosterCursor({ bucket: bucket + i, after: slice.last }) };
        if (students.length === limit) {
          const next = bucket + i + 1;
          return { students, cursor: next < this.buckets ? formatRosterCursor({ bucket: next, after: '' }) : null };
        }
      }
      bucket += count;
      after = '';
      wave = Math.min(wave * 2, MAX_WAVE);
    }
    return { students, cursor: null };
  }

  private async readBucket(exam: string, bucket: number, after: string, limit: number, now: number): Promise<BucketSlice> {
    const keys = [bucketKeys.roster(exam, bucket), bucketKeys.seq(exam, bucket), bucketKeys.present(exam, bucket), bucketKeys.holders(exam, bucket)];
    const args = [after, String(limit), String(Math.floor(now)), String(limit * SKIP_BUDGET_FACTOR)];
    const reply = await callFunction('ux_roster', () => this.redis.fcall_ro('ux_roster', keys.length, ...keys, ...args));
    if (!Array.isArray(reply) || reply.length !== 3 || typeof reply[0] !== 'string' || (reply[1] !== 0 && reply[1] !== 1) || !Array.isArray(reply[2])) {
      throw new RedisScriptError(`ux_roster returned ${describe(reply)}; expected [last, done, rows]`);
    }
    const flat = reply[2] as unknown[];
    const rows: RosterEntry[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const student = flat[i];
      const packed = flat[i + 1];
      if (typeof student !== 'string' || typeof packed !== 'string') throw new RedisScriptError(`ux_roster returned a malformed row: ${describe(flat.slice(i, i + 3))}`);
      const state = packed === '' ? null : parseStudentState(packed);
      if (packed !== '' && state === null) throw new RedisScriptError(`the state of student ${student} in ${bucketKeys.seq(exam, bucket)} is malformed: ${describe(packed)}`);
      rows.push({
        student,
        connected: flat[i + 2] === 1,
        lastSeq: state?.lastSeq ?? 0,
        events: state?.events ?? 0,
        lastEventAt: state?.lastEventAt ?? null,
        submitted: (state?.submitSeq ?? 0) > 0,
        submittedAt: state?.submittedAt ?? null,
      });
    }
    return { last: reply[0], done: reply[1] === 1, rows };
  }
}
