// Supervisors are data (Erlang/OTP): flags plus an ordered list of child specs.
// A child is anything that can be started, stopped, and can report a crash.

import { cappedBackoff } from '../src/backoff.js';
import type { UntradexError } from '../src/errors.js';

/** `permanent`: always restarted; `transient`: restarted only after a crash; `temporary`: never. */
export type RestartPolicy = 'permanent' | 'transient' | 'temporary';

export interface SupervisorFlags {
  strategy: 'one_for_one';
  /** Restarts allowed within `periodSeconds` before the supervisor gives up and escalates. */
  intensity: number;
  periodSeconds: number;
}

/** A running child as its supervisor sees it. */
export interface ChildHandle {
  /** Asks the child to stop; resolves once it has. Must not report a crash. */
  stop(): Promise<void>;
  /** Registers the one listener told when the child dies unasked. */
  onCrash(listener: (error: UntradexError) => void): void;
}

export interface ChildSpec<H extends ChildHandle = ChildHandle> {
  id: string;
  /** Starts the child. `incarnation` is 1 at first start and grows with every restart. */
  start(incarnation: number): Promise<H>;
  restart: RestartPolicy;
  /** How long stop() may take before the supervisor moves on. */
  shutdownMs: number;
  /**
   * How long to wait before restart number `restartsInPeriod` (1 for the first restart within the
   * intensity period); none restarts at once. A child that dies of its surroundings (a full disk)
   * gets time for them to change instead of burning its restart intensity in half a second.
   */
  restartDelayMs?: (restartsInPeriod: number) => number;
}

/** Capped exponential: `firstMs`, then doubling up to `maxMs`. */
export function growingRestartDelay(firstMs: number, maxMs: number): (restartsInPeriod: number) => number {
  // No jitter: one supervisor restarts its one child, nobody to fall out of step with.
  return cappedBackoff({ baseMs: firstMs, maxMs, jitter: 'none', firstAttempt: 1 });
}

/** Lifecycle of one child, changed only through the supervisor's setStatus. */
export type ChildStatus = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export interface ChildReport {
  id: string;
  status: ChildStatus;
  incarnation: number;
  restarts: number;
  lastError: string | null;
}
