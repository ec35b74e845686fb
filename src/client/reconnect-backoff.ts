// Reconnect and resend delays: capped exponential backoff with full jitter.
// An injected function (attempt in, delay out) so tests and load generators can replace it.

import { ConfigError } from '../errors.js';

/** Attempt 0 is the first retry. Returns the delay in ms, or null to give up. */
export type BackoffFn = (attempt: number) => number | null;

export const BACKOFF_DEFAULTS = {
  /** The ceiling of the first retry's delay. */
  baseMs: 100,
  /** No delay is ever longer than this. */
  maxMs: 5000,
} as const;

/**
 * Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): a uniform delay in
 * [0, min(maxMs, baseMs * 2^attempt)), so thousands of students cut off together do not
 * come back in lockstep.
 */
export function fullJitterBackoff(
  options: { baseMs?: number; maxMs?: number } = {},
  random: () => number = Math.random,
): BackoffFn {
  const baseMs = options.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const maxMs = options.maxMs ?? BACKOFF_DEFAULTS.maxMs;
  if (!Number.isFinite(baseMs) || baseMs < 0) throw new ConfigError('reconnect.baseMs', `must be a finite number >= 0, got ${baseMs}`);
  if (!Number.isFinite(maxMs) || maxMs < baseMs) throw new ConfigError('reconnect.maxMs', `must be a finite number >= reconnect.baseMs, got ${maxMs}`);
  return (attempt) => {
    // The exponent is clamped: 2 ** 1024 is Infinity, and 0 * Infinity is NaN.
    const exponent = Math.min(Math.max(0, Math.floor(attempt)), 1000);
    const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
    return Math.floor(random() * ceiling);
  };
}

/**
 * Equal jitter: at least half the capped exponential delay, so a pause after a refusal always
 * gives the server's rate limiter time to refill, yet clients refused together still spread out.
 */
export function equalJitterBackoff(
  options: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): BackoffFn {
  const { baseMs, maxMs } = options;
  if (!Number.isFinite(baseMs) || baseMs < 0) throw new ConfigError('resend.baseMs', `must be a finite number >= 0, got ${baseMs}`);
  if (!Number.isFinite(maxMs) || maxMs < baseMs) throw new ConfigError('resend.maxMs', `must be a finite number >= resend.baseMs, got ${maxMs}`);
  return (attempt) => {
    const exponent = Math.min(Math.max(0, Math.floor(attempt)), 1000);
    const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
    return Math.floor(ceiling / 2 + random() * (ceiling / 2));
  };
}
