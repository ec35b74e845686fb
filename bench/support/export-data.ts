// The stored events the export benchmark exports: written straight into Redis through
// BucketStore.writeBatch in big batches (the ingest path is measured elsewhere), and read back as rows.

import type { Redis } from 'ioredis';
import type { EventKind } from '../../src/events/answer-event.js';
import type { AnswerRow, EventRow, SubmissionRow } from '../../src/events/result-rows.js';
import { bucketOf } from '../../src/redis/bucket-keys.js';
import { BucketReader } from '../../src/redis/bucket-reader.js';
import { BucketStore, type EventToWrite } from '../../src/redis/bucket-store.js';
import { loadFunctionLibrary } from '../../src/redis/function-library.js';

/** Each student: open, 48 answers over 40 questions (8 changed later), submit. */
export const EVENTS_PER_STUDENT = 50;
const QUESTIONS = 40;
const VALUES = ['A', 'B', 'C', 'D', 'true', 'false', '42', 'The mitochondria is the powerhouse of the cell.'];

export interface ExamShape {
  exam: string;
  students: number;
  events: number;
  /** Rows the export writes: events, plus the last answer per question, plus one submission per student. */
  rows: { events: number; answers: number; submissions: number; total: number };
}

export function examShape(exam: string, events: number): ExamShape {
  const students = Math.max(1, Math.round(events / EVENTS_PER_STUDENT));
  const e = students * EVENTS_PER_STUDENT;
  const answers = students * QUESTIONS;
  return { exam, students, events: e, rows: { events: e, answers, submissions: students, total: e + answers + students } };
}

function studentEvents(student: string, serverTs: number): EventToWrite[] {
  const out: EventToWrite[] = [];
  const base = { student, epoch: 1, clientTs: serverTs - 150, serverTs };
  const push = (seq: number, kind: EventKind, question: string | null, value: string | null) => out.push({ ...base, seq, kind, question, value, serverTs: serverTs + seq });
  push(1, 'open', null, null);
  for (let k = 0; k < EVENTS_PER_STUDENT - 2; k++) push(k + 2, 'answer', `Q${(k % QUESTIONS) + 1}`, VALUES[(k * 7 + student.length) % VALUES.length]!);
  push(EVENTS_PER_STUDENT, 'submit', null, null);
  return out;
}

/**
 * Writes the exam's events, `batchEvents` per ux_write call, `inFlight` calls pipelined at once.
 * Returns the seconds it took.
 */
export async function fillExam(redis: Redis, shape: ExamShape, buckets: number, batchEvents = 5000, inFlight = 8): Promise<number> {
  await loadFunctionLibrary(redis);
  const store = new BucketStore(redis, buckets);
  const pending = new Map<number, EventToWrite[]>();
  const calls = new Set<Promise<void>>();
  let failure: unknown = null;
  const started = performance.now();
  const flush = async (bucket: number, events: EventToWrite[]) => {
    const call: Promise<void> = store
      .writeBatch(shape.exam, bucket, events)
      .then((outcomes) => {
        if (outcomes.some((o) => o !== 0)) throw new Error(`fill: ux_write did not store every event of bucket ${bucket}`);
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => calls.delete(call));
    calls.add(call);
    if (calls.size >= inFlight) await Promise.race(calls);
    if (failure !== null) throw failure;
  };
  const now = Date.now();
  for (let s = 0; s < shape.students; s++) {
    const student = `S${String(s).padStart(6, '0')}`;
    const bucket = bucketOf(shape.exam, student, buckets);
    const list = pending.get(bucket) ?? [];
    list.push(...studentEvents(student, now + s));
    if (list.length >= batchEvents) {
      pending.delete(bucket);
      await flush(bucket, list);
    } else {
      pending.set(bucket, list);
    }
  }
  for (const [bucket, list] of pending) await flush(bucket, list);
  await Promise.all(calls);
  if (failure !== null) throw failure;
  return (performance.now() - started) / 1000;
}

export interface BucketRows {
  events: EventRow[];
  answers: AnswerRow[];
  submissions: SubmissionRow[];
}

/** One bucket's rows, read the way an exporter reads them. */
export async function readBucketRows(redis: Redis, exam: string, bucket: number): Promise<BucketRows> {
  const reader = new BucketReader(redis, exam, bucket, 5000);
  const rows: BucketRows = { events: [], answers: [], submissions: [] };
  for await (const chunk of reader.events()) rows.events.push(...chunk);
  for await (const chunk of reader.answers()) rows.answers.push(...chunk);
  for await (const chunk of reader.submissions()) rows.submissions.push(...chunk);
  return rows;
}
