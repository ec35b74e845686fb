// What the control API needs from the running system, as an interface: the HTTP layer stays
// free of actor and supervisor details, and tests can drive it against a real root.

import type { ExamWaiting } from '../export/shard-wait.js';
import type { ExamState, ExamSummary } from '../protocol/exam-summary.js';
import type { ProcessReport } from '../protocol/process-report.js';
import type { RosterPage, RosterPosition } from '../redis/exam-roster.js';
import type { SinkReachabilityReport } from '../sinks/sink-reachability.js';
import type { ExportFiguresSnapshot } from '../export/export-figures.js';
import type { EventLoopDelay } from '../telemetry/event-loop-delay.js';
import type { FrameCounts } from '../telemetry/frame-counts.js';
import type { HistogramSnapshot } from '../telemetry/latency-histogram.js';
import type { WriterLoopPhase } from './writer-stall.js';

export interface ActorReport {
  id: string;
  status: string;
  incarnation: number;
  restarts: number;
  lastError: string | null;
  /** Connection and writer actors: how late their thread ran callbacks over the last 10 s, ms. */
  eventLoop?: EventLoopDelay;
  /** Redis writers: where the loop is; a long `writing` is a batch waiting on Redis (writer-stall.ts). */
  writer?: WriterLoopPhase;
}

export interface SystemStatus {
  state: string;
  uptimeSeconds: number;
  /** unwelcomed: sockets upgraded whose welcome has not been sent yet (gateway.maxUnwelcomed). */
  connections: { total: number; live: number; blocked: number; rejectedUpgrades: number; unwelcomed: number };
  /**
   * badEvents: events a writer isolated as the one its batch's write raised on, nacked bad_event.
   * unavailable: events a writer could not store for now because their Cluster shard failed or was
   * late (err busy, close 1013; the client resends them). direct: events a connection actor wrote
   * to Redis itself while quiet (writers.directInFlight), counted in stored, duplicates or refused
   * too; forwarded counts only the events put into the rings.
   */
  events: { forwarded: number; direct: number; stored: number; duplicates: number; refused: number; badEvents: number; unavailable: number; perSecond: number };
  acks: { sent: number; nacks: number };
  /**
   * Since the process started, in fixed buckets (ms): ack, from an event frame read off the socket
   * to the ack frame covering it (one count per acked event); welcome, from the hello read to the
   * welcome sent; upgrade, from the socket accepted (with TLS, its handshake done) to the 101
   * written; helloWait, from the 101 written to the hello read.
   */
  latency: { ack: HistogramSnapshot; welcome: HistogramSnapshot; upgrade: HistogramSnapshot; helloWait: HistogramSnapshot };
  /** nack, err and close frames by code since the process started. */
  frames: FrameCounts;
  /** The export jobs of this process (the primary's, in a fleet). */
  export?: ExportFiguresSnapshot;
  rings: { usedBytes: number; capacityBytes: number; fill: number };
  actors: ActorReport[];
  /**
   * appendfsync is what the config promises; servers what each Redis server really has (read at
   * start and after each reconnect), with what is wrong with it for that promise.
   */
  redis: {
    status: string;
    target: string;
    embedded: boolean;
    appendfsync: string;
    servers?: RedisServerReport[];
    /** Redis Cluster only: each shard's primary, its replicas in sync, and whether acks flow. */
    shards?: ShardReport[];
  };
  /** Rule S3: the disk of dataDir; below minFreeBytes no new event is acked (`state` "full"). */
  storage?: { path: string; freeBytes: number | null; minFreeBytes: number; state: string };
  /**
   * Redis Cluster only: sessions whose events a writer answers Unavailable until they reconnect
   * (their shard failed or was late), per "exam/bucket", and the buckets being probed.
   */
  heldBack?: HeldBackReport;
  /** With gateway.processes > 1: each gateway process, whose figures the totals above sum. */
  processes?: ProcessReport[];
  /** The result database's reachability, as /readyz reports it. */
  sink?: SinkReachabilityReport;
}

export interface HeldBackReport {
  students: number;
  byBucket: Record<string, number>;
  downBuckets: string[];
}

export interface RedisServerReport {
  node: string;
  appendonly: string;
  appendfsync: string;
  maxmemoryPolicy: string;
  problem: string | null;
}

export interface ShardReport {
  /** host:port of the shard's primary. */
  primary: string;
  /** host:port of each replica the primary streams to, and whether it is in sync. */
  replicas: Array<{ node: string; inSync: boolean }>;
  replicasInSync: number;
  waitReplicas: number;
  /** False when the primary does not answer or has fewer replicas in sync than waitReplicas. */
  ok: boolean;
  reason: string | null;
}

export type { ProcessReport };

export interface Readiness {
  ready: boolean;
  reasons: string[];
  /**
   * Whether the result database answers: reported, never a reason to be unready (students write
   * to Redis whatever it does), so a wrong database URL shows before finalize.
   */
  sink?: SinkReachabilityReport;
}

export interface ExamExportProgress {
  bucketsDone: number;
  bucketsTotal: number;
  rows: number;
  percent: number;
  rowsPerSecond: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

export type { ExamState, ExamSummary };

export interface ExamReport extends ExamSummary {
  export: ExamExportProgress;
  /**
   * What the exam waits for, or null: on a Redis Cluster, buckets its finalize cannot close or
   * export yet (or whose counts could not be read) because their shard does not answer. Finalize
   * goes on by itself once the shard is back. An addition to docs/PROTOCOL.md section 4.
   */
  waiting: ExamWaiting | null;
}

export interface ControlBackend {
  status(): Promise<SystemStatus>;
  readiness(): Promise<Readiness>;
  exam(exam: string): Promise<ExamReport>;
  /** Every exam with data in Redis, exported ones whose data is gone included, by id. */
  exams(): Promise<ExamSummary[]>;
  /** One page of an exam's roster, from `from` (the start when null). */
  roster(exam: string, limit: number, from: RosterPosition | null): Promise<RosterPage>;
  /** Starts (or rejoins, or resumes) the finalize job; resolves with the state after the call. */
  finalize(exam: string): Promise<ExamReport>;
  /** Deletes an exam's data from Redis once it is exported. */
  purge(exam: string): Promise<{ deletedKeys: number }>;
}
