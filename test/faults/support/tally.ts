// Compares what students were acked with what Redis (or the SQLite sink) holds: lost, duplicated,
// out of order. Every fault test ends with one of these and records it for docs/RELIABILITY.md.

import Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Test } from 'tap';
import { recordReliability } from '../../helpers/reliability-record.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import type { StudentLoad } from './student-load.js';

/** What a tally compares with: per student, the seqs acked (a StudentLoad, or a snapshot of one). */
export interface AckedView {
  exam: string;
  students: ReadonlyArray<{ id: string; acked: readonly number[] }>;
}

/** The acks as they are now, kept apart from the ones that arrive later. */
export function snapshotAcks(load: StudentLoad): AckedView {
  return { exam: load.exam, students: load.students.map((student) => ({ id: student.id, acked: [...student.acked] })) };
}

export interface Tally {
  /** Events the students were told are durable. */
  acked: number;
  /** Entries the store holds for these students (duplicates included). */
  stored: number;
  /** Acked events the store does not hold. */
  lost: number;
  /** Entries beyond the first for one (student, seq). */
  duplicated: number;
  /** Stored seqs of a student that do not increase (docs/PROTOCOL.md rule 2). */
  outOfOrder: number;
  /** Stored events nobody was acked for (harmless: their ack was cut off; clients resend them). */
  storedUnacked: number;
}

function tallySeqs(load: AckedView, storedOf: (student: string) => number[]): Tally {
  const tally: Tally = { acked: 0, stored: 0, lost: 0, duplicated: 0, outOfOrder: 0, storedUnacked: 0 };
  for (const student of load.students) {
    const seqs = storedOf(student.id);
    const stored = new Set(seqs);
    const acked = new Set(student.acked);
    tally.acked += acked.size;
    tally.stored += seqs.length;
    tally.duplicated += seqs.length - stored.size;
    for (let index = 1; index < seqs.length; index += 1) if (seqs[index]! <= seqs[index - 1]!) tally.outOfOrder += 1;
    for (const seq of acked) if (!stored.has(seq)) tally.lost += 1;
    for (const seq of stored) if (!acked.has(seq)) tally.storedUnacked += 1;
  }
  return tally;
}

/** Reads the exam's bucket logs from Redis. */
export async function tallyRedis(redis: Redis, load: AckedView, buckets: number): Promise<Tally> {
  const stored = await storedEventsByStudent(redis, load.exam, buckets);
  return tallySeqs(load, (student) => (stored.get(student) ?? []).map((event) => event.seq));
}

/** Reads the exam's audit rows from the SQLite sink (after finalize), in seq order per student. */
export function tallySqlite(path: string, load: AckedView, prefix = 'ux_'): Tally {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare(`SELECT student_id AS student, seq FROM ${prefix}events WHERE exam_id = ? ORDER BY student_id, seq`).all(load.exam) as Array<{ student: string; seq: number }>;
    const byStudent = new Map<string, number[]>();
    for (const row of rows) {
      const list = byStudent.get(row.student) ?? [];
      list.push(row.seq);
      byStudent.set(row.student, list);
    }
    return tallySeqs(load, (student) => byStudent.get(student) ?? []);
  } finally {
    db.close();
  }
}

/** The promise of Untradex: every acked event stored, once, in order. */
export function assertExactlyOnce(t: Test, tally: Tally, where: string): void {
  t.ok(tally.acked > 0, `${where}: the load had events acked (${tally.acked})`);
  t.equal(tally.lost, 0, `${where}: every acked event is there`);
  t.equal(tally.duplicated, 0, `${where}: no event is there twice`);
  t.equal(tally.outOfOrder, 0, `${where}: each student's events are in seq order`);
}

/** Once every student flushed, everything created was acked and everything stored was acked. */
export function assertComplete(t: Test, load: StudentLoad, tally: Tally, where: string): void {
  t.equal(tally.acked, load.createdTotal, `${where}: every event the students created was acked in the end`);
  t.equal(tally.storedUnacked, 0, `${where}: nothing is stored that was not acked`);
}

/**
 * Reads the exam back from Redis once every student flushed, and checks the whole promise on it:
 * every acked event there exactly once, in order, and everything created acked (assertExactlyOnce
 * and assertComplete). Returns the tally for the fault record.
 */
export async function assertRedisHoldsLoad(t: Test, redis: Redis, load: StudentLoad, buckets: number, where: string): Promise<Tally> {
  const tally = await tallyRedis(redis, load, buckets);
  assertExactlyOnce(t, tally, where);
  assertComplete(t, load, tally, where);
  return tally;
}

export function recordFault(scenario: string, injected: string, tally: Tally, note?: string): void {
  recordReliability({ kind: 'fault', scenario, injected, acked: tally.acked, inSink: tally.stored, lost: tally.lost, duplicated: tally.duplicated, ...(note === undefined ? {} : { note }) });
}
