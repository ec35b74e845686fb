// Fault and hostile-input tests record what they injected and what came out, one JSON line per
// scenario, when UX_RELIABILITY_DIR is set; scripts turn those lines into docs/RELIABILITY.md.

import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface FaultRecord {
  kind: 'fault';
  scenario: string;
  injected: string;
  acked: number;
  inSink: number;
  lost: number;
  duplicated: number;
  /** Anything worth a reader's attention (window measured, restarts seen...). */
  note?: string;
}

export interface HostileRecord {
  kind: 'hostile';
  scenario: string;
  inputs: number;
  /** What the inputs got, e.g. "close 4400: 9120, nack bad_event: 880". */
  outcome: string;
  harmed: number;
  note?: string;
}

export type ReliabilityRecord = FaultRecord | HostileRecord;

/** Appends the record to $UX_RELIABILITY_DIR/records.jsonl; does nothing when the variable is unset. */
export function recordReliability(record: ReliabilityRecord): void {
  const dir = process.env.UX_RELIABILITY_DIR;
  if (dir === undefined || dir === '') return;
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'records.jsonl'), JSON.stringify({ ...record, at: new Date().toISOString() }) + '\n');
}
