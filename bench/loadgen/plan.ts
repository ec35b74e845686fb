// The messages between the load coordinator and its load processes: what each process simulates,
// the phases (connect, run, close) with their absolute start times, and what each reports back.

/** `client`: the StudentClient of src/client/student-client.ts (outbox, resend, reconnect); `raw`: a bare ws student with no per-event objects. */
export type DriverKind = 'client' | 'raw';

export interface WorkerInit {
  index: number;
  url: string;
  exam: string;
  /** auth.secret of the server under test: tokens are minted here, not over HTTP. */
  secret: string;
  studentPrefix: string;
  /** Global index of this process's first student, and how many it simulates. */
  firstStudent: number;
  count: number;
  localAddresses: string[];
  driver: DriverKind;
}

/**
 * spike: every student connects at a random moment within `windowMs` after `at` (an exam's first
 * minute squeezed into one second); ramp: evenly spread over `windowMs`.
 */
export interface ConnectPlan {
  mode: 'spike' | 'ramp';
  /** Epoch ms, the same for every process. */
  at: number;
  windowMs: number;
  /** Give up waiting for welcomes this long after the window ends. */
  timeoutMs: number;
  /** Send an `open` event right after the welcome, as a student opening the exam does. */
  sendOpen: boolean;
  /**
   * At most this many students of one load process between connect and welcome; the others wait
   * their turn in the load process, and their connect-to-welcome counts from their planned moment.
   * Real students each have their own machine; on one box, thousands of handshakes at once starve
   * the load processes themselves (they miss the server's hello deadline and retry without end).
   */
  maxInFlight?: number;
}

/**
 * rate: each student sends answers at `perStudentPerSecond` with a random phase (open loop), and
 * with `endSpike` everyone submits at once at the end; closed: each student keeps `window`
 * events unacked at all times (the most the server can take).
 */
export type RunPlan =
  | { kind: 'rate'; at: number; durationMs: number; perStudentPerSecond: number; endSpike: boolean; drainMs: number }
  | { kind: 'closed'; at: number; durationMs: number; window: number; drainMs: number };

export type CoordinatorMessage =
  | { op: 'connect'; plan: ConnectPlan }
  | { op: 'run'; plan: RunPlan }
  | { op: 'close' };

export interface ConnectReport {
  welcomed: number;
  failed: number;
  /** Connect to welcome, encoded HDR histogram (µs). */
  welcomeLatency: string;
  wallMs: number;
  cpuSeconds: number;
}

/** Histograms by phase: `start` the open events, `steady` the answers, `end` the submits. */
export interface RunReport {
  histograms: { start: string; steady: string; end: string };
  sent: number;
  /** Events acked while the run's window was open (the throughput figure counts these). */
  ackedInWindow: number;
  /** Every ack since the process started, the connect phase's opens included. */
  ackedTotal: number;
  /** Acks from the run's start to the end of its drain: what the server's CPU of the run paid for. */
  ackedDuringRun: number;
  nacked: number;
  errors: number;
  reconnects: number;
  /** Students not welcomed when the run started: they sent nothing. */
  notReady: number;
  /** Acked events per second of the window. */
  perSecond: number[];
  /** End spike: submits sent, acked, and ms from the spike to the last submit ack. */
  endSpike: { sent: number; acked: number; lastAckMs: number };
  /** Events still unacked when the drain ended. */
  pendingAtEnd: number;
  cpuSeconds: number;
  wallMs: number;
}

export type WorkerMessage =
  | { op: 'ready' }
  | { op: 'connected'; report: ConnectReport }
  | { op: 'ran'; report: RunReport }
  | { op: 'closed' }
  | { op: 'failed'; message: string };
