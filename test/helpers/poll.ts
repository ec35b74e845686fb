// The one polling helper of the tests: waits on an observable state (an actor restarted, an exam
// exported), never on a fixed sleep. The deadline only turns a hang into a failure that names what was awaited.

export interface PollOptions {
  /** How long to keep probing before giving up; default 20 s. */
  timeoutMs?: number;
  /** The pause between two probes; default 50 ms. */
  intervalMs?: number;
}

const DEFAULTS: Required<PollOptions> = { timeoutMs: 20_000, intervalMs: 50 };

/** Thrown when the deadline passes; carries the last value seen, so the failure says how far it got. */
export class PollTimeoutError extends Error {
  readonly code = 'UX_TEST_POLL_TIMEOUT';
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly last: unknown,
  ) {
    super(`waited ${timeoutMs} ms for ${what}; last seen: ${describe(last)}`);
    this.name = 'PollTimeoutError';
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const text = JSON.stringify(value);
    // A whole exam body or log can be long: the start is enough to see the state.
    return text.length > 500 ? `${text.slice(0, 500)}...` : text;
  } catch {
    return String(value);
  }
}

/**
 * Probes until `accept(value)` holds and returns that value. The probe runs once more after the
 * deadline is crossed, so a slow probe cannot make the last chance come too early. A probe that
 * throws ends the wait: an error is an answer, not a "not yet".
 */
export async function pollUntil<T>(what: string, probe: () => T | Promise<T>, accept: (value: T) => boolean, options: PollOptions = {}): Promise<T> {
  const { timeoutMs, intervalMs } = { ...DEFAULTS, ...options };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new PollTimeoutError(what, timeoutMs, value);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Like `pollUntil`, but at the deadline returns the last value seen instead of throwing: for a wait
 * whose outcome a test assertion should judge (and show as a diff), not an exception.
 */
export async function pollSettled<T>(what: string, probe: () => T | Promise<T>, accept: (value: T) => boolean, options: PollOptions = {}): Promise<T> {
  try {
    return await pollUntil(what, probe, accept, options);
  } catch (error) {
    if (error instanceof PollTimeoutError) return error.last as T;
    throw error;
  }
}

/** Waits until `condition` holds; `pollUntil` with a probe that is the condition itself. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, options: PollOptions = {}): Promise<void> {
  await pollUntil(what, condition, (held) => held, options);
}
