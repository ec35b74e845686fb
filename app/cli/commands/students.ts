// `untradex students <exam>`: the roster, page by page from the control API, written as it comes
// (a 100,000-student exam never sits in memory whole), filtered to who has not submitted or connected.

import { UsageError } from '../../../src/errors.js';
import type { RosterEntry, RosterPage } from '../../../src/redis/exam-roster.js';
import type { ControlApiClient } from '../control-api-client.js';
import { csvField } from '../student-list.js';
import { renderTable } from '../text-table.js';

const PAGE = 1_000;

export type RosterFormat = 'table' | 'csv' | 'ndjson';

export interface StudentsOptions {
  format?: string | undefined;
  notSubmitted?: boolean;
  notConnected?: boolean;
}

export async function runStudents(api: ControlApiClient, exam: string, options: StudentsOptions): Promise<void> {
  const format = options.format ?? (process.stdout.isTTY === true ? 'table' : 'csv');
  if (format !== 'table' && format !== 'csv' && format !== 'ndjson') throw new UsageError(`--format is table, csv or ndjson, not ${JSON.stringify(format)}`);
  const keep = (entry: RosterEntry) => !(options.notSubmitted === true && entry.submitted) && !(options.notConnected === true && entry.connected);
  const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
  let cursor: string | null = null;
  let shown = 0;
  if (format === 'csv') process.stdout.write('student,connected,submitted,events,last_seq,last_event_at,submitted_at\n');
  do {
    const query: string = cursor === null ? `limit=${PAGE}` : `limit=${PAGE}&cursor=${encodeURIComponent(cursor)}`;
    const page: RosterPage = await api.get<RosterPage>(`/api/exams/${encodeURIComponent(exam)}/students?${query}`);
    const entries = page.students.filter(keep);
    shown += entries.length;
    if (format === 'csv') {
      const lines = entries.map((e) => [csvField(e.student), e.connected, e.submitted, e.events, e.lastSeq, iso(e.lastEventAt), iso(e.submittedAt)].join(','));
      if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n');
    } else if (format === 'ndjson') {
      if (entries.length > 0) process.stdout.write(entries.map((entry) => JSON.stringify(entry)).join('\n') + '\n');
    } else if (entries.length > 0) {
      // One table per page: aligned within the page, and the first rows show before the last page is read.
      const rows = entries.map((e) => [e.student, e.connected ? 'yes' : 'no', e.submitted ? 'yes' : 'no', e.events, e.lastSeq, iso(e.lastEventAt)]);
      process.stdout.write(renderTable(['STUDENT', 'CONNECTED', 'SUBMITTED', 'EVENTS', 'LAST SEQ', 'LAST EVENT'], rows));
    }
    cursor = page.cursor;
  } while (cursor !== null);
  if (format === 'table') process.stdout.write(`${shown} student(s)\n`);
}
