// How late an actor's event loop runs its callbacks, over the last complete window: the figure that
// tells an operator a thread is overloaded (students then wait for acks although Redis is idle).

import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';

export interface EventLoopDelay {
  /** Over the last complete window, ms. */
  p99Ms: number;
  maxMs: number;
}

const RESOLUTION_MS = 10;
const WINDOW_MS = 10_000;
/** How often the monitor looks at how busy its thread was, and rolls the window when it is due. */
const CHECK_MS = 1_000;
/** Below this share of a second spent running callbacks, a thread counts as idle. */
const IDLE_UTILIZATION = 0.01;

/** What the monitor reads the time and the thread's busyness from; tests pass a fake one. */
export interface LoopClock {
  /** Monotonic ms (performance.now()). */
  now(): number;
  /** The share (0 to 1) of the time since the previous call that the thread spent running callbacks. */
  busyShare(): number;
}

/** Where the delays are recorded, in ns: node's IntervalHistogram; tests record their own delays. */
export interface DelaySampler {
  readonly count: number;
  readonly max: number;
  percentile(percentile: number): number;
  reset(): void;
  enable(): boolean;
  disable(): boolean;
}

export interface EventLoopDelayOptions {
  /** The window the figures cover, ms (default 10 s). */
  windowMs?: number;
  clock?: LoopClock;
  sampler?: DelaySampler;
  /** false: no timer of its own; the owner calls check() once per check interval (tests with a fake clock). */
  timer?: boolean;
}

/** The thread's own clock: performance.now() and its event-loop utilization between calls. */
export function threadClock(): LoopClock {
  let since: EventLoopUtilization = performance.eventLoopUtilization();
  return {
    now: () => performance.now(),
    busyShare: () => {
      const share = performance.eventLoopUtilization(since).utilization;
      since = performance.eventLoopUtilization();
      return share;
    },
  };
}

/**
 * Samples this thread's loop delay with libuv timers (10 ms resolution, so the floor is about 10 ms
 * on a loop that runs) and keeps the figures of the last full 10 s window, so that a status call
 * made at any moment reports a whole window rather than whatever accrued since the last call.
 *
 * The sampler wakes its thread 100 times a second: with nobody connected that was most of an idle
 * server's CPU (3 actor threads, ~1% of a core each here). So once a second the monitor reads the
 * thread's event-loop utilization (no timer of its own) and samples only while the thread did work;
 * an idle window reads 0. A stall that starts on an idle thread still shows: the once-a-second check
 * is itself a callback, and how late it ran counts as a delay.
 */
export class EventLoopDelayMonitor {
  private readonly histogram: DelaySampler;
  private readonly clock: LoopClock;
  private readonly windowMs: number;
  private sampling = false;
  private last: EventLoopDelay = { p99Ms: 0, maxMs: 0 };
  /** The sampled figures of the current window's busy stretches that ended when the thread went idle (see fold()). */
  private folded: EventLoopDelay = { p99Ms: 0, maxMs: 0 };
  /** The worst lateness of the check callback in the current window, ms. */
  private checkLateMs = 0;
  private windowStarted: number;
  private nextCheckAt: number;
  /** How often check() is due, ms. */
  readonly checkMs: number;
  private readonly timer: NodeJS.Timeout | null;

  constructor(options: EventLoopDelayOptions = {}) {
    this.windowMs = options.windowMs ?? WINDOW_MS;
    this.clock = options.clock ?? threadClock();
    this.histogram = options.sampler ?? monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.checkMs = Math.min(CHECK_MS, this.windowMs);
    this.setSampling(true);
    this.windowStarted = this.clock.now();
    this.nextCheckAt = this.windowStarted + this.checkMs;
    this.timer = options.timer === false ? null : setInterval(() => this.check(), this.checkMs);
    this.timer?.unref();
  }

  /** The last full window, or the current partial one before the first window ends. */
  read(): EventLoopDelay {
    return this.last.maxMs === 0 ? this.current() : this.last;
  }

  /** True while the thread is busy enough to be sampled (for tests and status). */
  get active(): boolean {
    return this.sampling;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.setSampling(false);
  }

  /** Looks at the thread once: run by the timer every checkMs, or by the owner when there is none. */
  check(): void {
    const now = this.clock.now();
    this.checkLateMs = Math.max(this.checkLateMs, now - this.nextCheckAt);
    this.nextCheckAt = now + this.checkMs;
    const busy = this.clock.busyShare() >= IDLE_UTILIZATION;
    if (now - this.windowStarted >= this.windowMs) this.roll(now);
    this.setSampling(busy);
  }

  /**
   * The window's figures: its p99 is the worst p99 of its busy stretches, an upper bound of the p99
   * over all of them (no stretch has more than 1% of its samples above its own p99).
   */
  private current(): EventLoopDelay {
    const sampled = this.sampled();
    return { p99Ms: Math.max(this.folded.p99Ms, sampled.p99Ms), maxMs: Math.max(this.folded.maxMs, sampled.maxMs, this.checkLateMs) };
  }

  private sampled(): EventLoopDelay {
    return this.histogram.count === 0 ? { p99Ms: 0, maxMs: 0 } : { p99Ms: this.histogram.percentile(99) / 1e6, maxMs: this.histogram.max / 1e6 };
  }

  private roll(now: number): void {
    this.last = this.current();
    this.histogram.reset();
    this.folded = { p99Ms: 0, maxMs: 0 };
    this.checkLateMs = 0;
    this.windowStarted = now;
  }

  /**
   * Keeps a busy stretch's figures and empties the sampler before it is turned off: node's sampler
   * measures each tick from the previous one and keeps that across disable() and enable(), so without
   * the reset the first tick after an idle spell records the whole spell as one delay (a writer idle
   * for 7 s read "max 7,025 ms" in spike.bench.ts). reset() also forgets the previous tick.
   */
  private fold(): void {
    const stretch = this.sampled();
    this.folded = { p99Ms: Math.max(this.folded.p99Ms, stretch.p99Ms), maxMs: Math.max(this.folded.maxMs, stretch.maxMs) };
    this.histogram.reset();
  }

  private setSampling(on: boolean): void {
    if (on === this.sampling) return;
    this.sampling = on;
    if (on) this.histogram.enable();
    else {
      this.fold();
      this.histogram.disable();
    }
  }
}
