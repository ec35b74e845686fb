// Capped exponential backoff: the one formula behind every retry delay (client reconnect and
// resend, Redis reconnect, shard waits, export retries, the writer's batch retry, Redis restarts).

import { ConfigError } from './errors.js';

/**
 * How a delay is spread below its ceiling. Jitter keeps many retriers that failed together (students
 * cut off at once, actors losing one Redis) from coming back in lockstep.
 * - `none`: exactly the ceiling (one retrier, e.g. a supervisor restarting its one child).
 * - `full`: uniform in [0, ceiling) (AWS architecture blog, "Exponential Backoff And Jitter").
 * - `equal`: uniform in [ceiling/2, ceiling): always waits at least half, yet still spreads out.
 * - `{ addMs }`: the ceiling plus uniform [0, addMs): the exponential shape kept, lightly spread.
 */
export type Jitter = 'none' | 'full' | 'equal' | { readonly addMs: number };

export interface BackoffOptions {
  /** The ceiling of the first attempt's delay. */
  readonly baseMs: number;
  /** No ceiling is ever higher than this. */
  readonly maxMs: number;
  /** Growth of the ceiling per attempt; 2 unless given. */
  readonly factor?: number;
  readonly jitter: Jitter;
  /** The number the caller gives its first attempt: callers count from 0 or from 1. */
  readonly firstAttempt: 0 | 1;
  /** Option path named by a ConfigError for bad values ("reconnect" gives "reconnect.baseMs"). */
  readonly path?: string;
}

/** Attempt in, delay in ms out. Giving up is the caller's decision, not the formula's. */
export type BackoffDelay = (attempt: number) => number;

/** The delay function for `options`; `random` is injectable so tests pin the jitter. */
export function cappedBackoff(options: BackoffOptions, random: () => number = Math.random): BackoffDelay {
  const { baseMs, maxMs, jitter, firstAttempt } = options;
  const factor = options.factor ?? 2;
  const path = options.path ?? 'backoff';
  if (!Number.isFinite(baseMs) || baseMs < 0) throw new ConfigError(`${path}.baseMs`, `must be a finite number >= 0, got ${baseMs}`);
  if (!Number.isFinite(maxMs) || maxMs < baseMs) throw new ConfigError(`${path}.maxMs`, `must be a finite number >= ${path}.baseMs, got ${maxMs}`);
  if (!Number.isFinite(factor) || factor < 1) throw new ConfigError(`${path}.factor`, `must be a finite number >= 1, got ${factor}`);
  return (attempt) => {
    // The exponent is clamped: factor ** 1024 is Infinity, and 0 * Infinity is NaN (hence the 0 case).
    const exponent = Math.min(Math.max(0, Math.floor(attempt) - firstAttempt), 1000);
    const ceiling = baseMs === 0 ? 0 : Math.min(maxMs, baseMs * factor ** exponent);
    if (jitter === 'none') return ceiling;
    if (jitter === 'full') return Math.floor(random() * ceiling);
    if (jitter === 'equal') return Math.floor(ceiling / 2 + random() * (ceiling / 2));
    return ceiling + Math.floor(random() * jitter.addMs);
  };
}
