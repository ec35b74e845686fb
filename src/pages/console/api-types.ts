// The control API's replies as the console reads them (docs/PROTOCOL.md section 4). Kept apart from the
// server's own types: those live beside Node-only modules the browser build cannot compile.

import type { ExamSummary } from '../../protocol/exam-summary.js';
import type { ProcessReport } from '../../protocol/process-report.js';

export type { ExamState, ExamSummary } from '../../protocol/exam-summary.js';

export interface ActorStatus {
  id: string;
  status: string;
  incarnation: number;
  restarts: number;
  lastError: string | null;
  eventLoop?: { p99Ms: number; maxMs: number };
}

export type { ProcessReport as ProcessStatus } from '../../protocol/process-report.js';

export interface RedisServerStatus {
  node: string;
  appendonly: string;
  appendfsync: string;
  maxmemoryPolicy: string;
  problem: string | null;
}

/** Redis Cluster only: one shard's primary and whether acks flow through it. */
export interface ShardStatus {
  primary: string;
  replicasInSync: number;
  waitReplicas: number;
  ok: boolean;
  reason: string | null;
}

export interface SinkReachability {
  sink: string;
  /** null until the first check has finished. */
  reachable: boolean | null;
  checkedAt: string | null;
  error: string | null;
}

export interface SystemStatus {
  state: string;
  uptimeSeconds: number;
  connections: { total: number; live: number; blocked: number; rejectedUpgrades: number; unwelcomed: number };
  /** badEvents and unavailable: in builds with writer isolation and Cluster shard isolation. */
  events: { forwarded: number; stored: number; duplicates: number; refused: number; perSecond: number; badEvents?: number; unavailable?: number };
  acks: { sent: number; nacks: number };
  rings: { usedBytes: number; capacityBytes: number; fill: number };
  actors: ActorStatus[];
  redis: { status: string; target: string; embedded: boolean; appendfsync: string; servers?: RedisServerStatus[]; shards?: ShardStatus[] };
  /** Redis Cluster only: sessions refused until they reconnect, their shard having failed or been late. */
  heldBack?: { students: number; byBucket: Record<string, number>; downBuckets: string[] };
  storage?: { path: string; freeBytes: number | null; minFreeBytes: number; state: string };
  processes?: ProcessReport[];
  /** The result database, checked at most every 15 s. */
  sink?: SinkReachability;
}

export interface ExportProgress {
  bucketsDone: number;
  bucketsTotal: number;
  rows: number;
  percent: number;
  rowsPerSecond?: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

export interface ExamReport extends ExamSummary {
  export: ExportProgress;
}

export type { RosterEntry, RosterPage } from '../../protocol/roster-page.js';
