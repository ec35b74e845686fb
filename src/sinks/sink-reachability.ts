// Whether the result database answers now, for /readyz and the status: students never wait on it,
// so it never fails readiness, but an operator should see a wrong URL before finalize does.

import type { ResultSink, SinkKind } from './result-sink.js';

export interface SinkReachabilityReport {
  sink: SinkKind;
  /** null until the first check has finished. */
  reachable: boolean | null;
  checkedAt: string | null;
  /** What failed, in the driver's words (connection errors never carry the password). */
  error: string | null;
}

export interface SinkReachabilityOptions {
  /** A result younger than this is served as it is; an older one is checked again. Default 15000. */
  maxAgeMs?: number;
  /** A check that has not answered by then counts as unreachable. Default 5000. */
  timeoutMs?: number;
}

const DEFAULTS = { maxAgeMs: 15_000, timeoutMs: 5_000 } as const;

/**
 * Probes sit behind a cache: a readiness probe every second (a service manager, a load balancer)
 * must not open a database connection every second. A stale result is served at once while a new
 * check runs; only the very first call waits for one (bounded by timeoutMs).
 */
export class SinkReachability {
  private last: SinkReachabilityReport;
  private lastAt = 0;
  private running: Promise<SinkReachabilityReport> | null = null;
  private readonly maxAgeMs: number;
  private readonly timeoutMs: number;

  constructor(
    kind: SinkKind,
    /** A new sink per check, closed after it: nothing stays open between checks. */
    private readonly openSink: () => ResultSink,
    options: SinkReachabilityOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULTS.maxAgeMs;
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.last = { sink: kind, reachable: null, checkedAt: null, error: null };
  }

  async read(now: number = Date.now()): Promise<SinkReachabilityReport> {
    const fresh = now - this.lastAt < this.maxAgeMs;
    if (fresh) return this.last;
    const check = (this.running ??= this.check().finally(() => {
      this.running = null;
    }));
    return this.last.reachable === null ? check : this.last;
  }

  private async check(): Promise<SinkReachabilityReport> {
    let error: string | null = null;
    let timer: NodeJS.Timeout | undefined;
    let sink: ResultSink | null = null;
    try {
      sink = this.openSink();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      });
      await Promise.race([sink.ping(), timeout]);
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    } finally {
      clearTimeout(timer);
      // Closing rolls back nothing (no bucket is open) and ends the pool; a check that timed out
      // closes its pool too, so a database that answers late leaves no connection behind.
      await sink?.close().catch((cause: unknown) => {
        error ??= `closing the check's connection failed: ${cause instanceof Error ? cause.message : String(cause)}`;
      });
    }
    this.lastAt = Date.now();
    this.last = { sink: this.last.sink, reachable: error === null, checkedAt: new Date(this.lastAt).toISOString(), error };
    return this.last;
  }
}
