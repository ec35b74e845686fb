// Batched wake-ups between the two sides of a ring: the producer rings once per published batch,
// the consumer sleeps on Atomics.waitAsync and never blocks its event loop.

const COUNTER_SLOT = 0;
/** How many waiters are parked; ring() skips the notify call when nobody waits. */
const WAITERS_SLOT = 1;
const DOORBELL_BYTES = 8;

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
// lib ES2022 does not declare waitAsync; Node 20 has it.
const waitAsync = (Atomics as unknown as {
  waitAsync(typedArray: Int32Array, index: number, value: number, timeout?: number): WaitAsyncResult;
}).waitAsync;

/** setTimeout's limit; longer waits would fire at once. */
const MAX_WAIT_MS = 2 ** 31 - 1;

export function createDoorbell(): SharedArrayBuffer {
  return new SharedArrayBuffer(DOORBELL_BYTES);
}

export class Doorbell {
  readonly #cells: Int32Array;

  constructor(sab: SharedArrayBuffer) {
    this.#cells = new Int32Array(sab, 0, DOORBELL_BYTES / 4);
  }

  /** Wakes every waiter; a waiter that has not parked yet sees the changed counter instead. */
  ring(): void {
    Atomics.add(this.#cells, COUNTER_SLOT, 1);
    // Sequentially consistent: either this load sees the waiter's increment, or the waiter's
    // waitAsync sees our add and returns at once. No wake-up is lost.
    if (Atomics.load(this.#cells, WAITERS_SLOT) > 0) Atomics.notify(this.#cells, COUNTER_SLOT);
  }

  /** The counter to pass to wait(): take it before checking the ring, then wait if it was empty. */
  snapshot(): number {
    return Atomics.load(this.#cells, COUNTER_SLOT);
  }

  /**
   * Resolves when the doorbell rings after `seen` was taken (at once if it already has), or after
   * `timeoutMs` (clamped to 0 .. 2^31-1) as a fallback poll. Never rejects, never blocks the loop.
   */
  wait(seen: number, timeoutMs: number): Promise<void> {
    const cells = this.#cells;
    const timeout = timeoutMs >= 0 ? Math.min(timeoutMs, MAX_WAIT_MS) : 0;
    if (Atomics.load(cells, COUNTER_SLOT) !== seen) return Promise.resolve();
    Atomics.add(cells, WAITERS_SLOT, 1);
    const result = waitAsync(cells, COUNTER_SLOT, seen, timeout);
    if (!result.async) {
      Atomics.sub(cells, WAITERS_SLOT, 1);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      // Node 20 lets the process (or worker) exit under a pending waitAsync; a ref'd timer of the
      // same length keeps the loop alive and doubles as the timeout if V8's fires later.
      const keepAlive = setTimeout(resolve, timeout);
      void result.value.then(() => {
        Atomics.sub(cells, WAITERS_SLOT, 1);
        clearTimeout(keepAlive);
        resolve();
      });
    });
  }
}
