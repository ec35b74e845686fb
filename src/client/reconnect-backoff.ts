// Reconnect and resend delays of the client: the shared capped backoff with the client's jitter.
// An injected function (attempt in, delay out) so tests and load generators can replace it.

import { cappedBackoff } from '../backoff.js';

/** Attempt 0 is the first retry. Returns the delay in ms, or null to give up. */
export type BackoffFn = (attempt: number) => number | null;

export const BACKOFF_DEFAULTS = {
  /** The ceiling of the first retry's delay. */
  baseMs: 100,
  /** No delay is ever longer than this. */
  maxMs: 5000,
} as const;

/**
 * Full jitter (src/backoff.ts): a uniform delay in [0, min(maxMs, baseMs * 2^attempt)), so
 * thousands of students cut off together do not come back in lockstep.
 */
export function fullJitterBackoff(
  options: { baseMs?: number; maxMs?: number } = {},
  random: () => number = Math.random,
): BackoffFn {
  const baseMs = options.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const maxMs = options.maxMs ?? BACKOFF_DEFAULTS.maxMs;
  return cappedBackoff({ baseMs, maxMs, jitter: 'full', firstAttempt: 0, path: 'reconnect' }, random);
}

/**
 * Equal jitter: at least half the capped exponential delay, so a pause after a refusal always
 * gives the server's rate limiter time to refill, yet clients refused together still spread out.
 */
export function equalJitterBackoff(
  options: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): BackoffFn {
  return cappedBackoff({ ...options, jitter: 'equal', firstAttempt: 0, path: 'resend' }, random);
}
