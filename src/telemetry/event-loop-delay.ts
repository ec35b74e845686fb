// How late an actor's event loop runs its callbacks, over the last complete window: the figure that
// tells an operator a thread is overloaded (students then wait for acks although Redis is idle).

import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';

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
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private sampling = false;
  private last: EventLoopDelay = { p99Ms: 0, maxMs: 0 };
  /** The worst lateness of the check callback in the current window, ms. */
  private checkLateMs = 0;
  private utilization: EventLoopUtilization = performance.eventLoopUtilization();
  private windowStarted = performance.now();
  private nextCheckAt: number;
  private readonly checkMs: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly windowMs = WINDOW_MS) {
    this.checkMs = Math.min(CHECK_MS, windowMs);
    this.setSampling(true);
    this.nextCheckAt = performance.now() + this.checkMs;
    this.timer = setInterval(() => this.check(), this.checkMs);
    this.timer.unref();
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
    clearInterval(this.timer);
    this.setSampling(false);
  }

  private current(): EventLoopDelay {
    const sampled = this.histogram.count === 0 ? { p99Ms: 0, maxMs: 0 } : { p99Ms: this.histogram.percentile(99) / 1e6, maxMs: this.histogram.max / 1e6 };
    return { p99Ms: sampled.p99Ms, maxMs: Math.max(sampled.maxMs, this.checkLateMs) };
  }

  private check(): void {
    const now = performance.now();
    this.checkLateMs = Math.max(this.checkLateMs, now - this.nextCheckAt);
    this.nextCheckAt = now + this.checkMs;
    const busy = performance.eventLoopUtilization(this.utilization).utilization >= IDLE_UTILIZATION;
    this.utilization = performance.eventLoopUtilization();
    if (now - this.windowStarted >= this.windowMs) this.roll(now);
    this.setSampling(busy);
  }

  private roll(now: number): void {
    this.last = this.current();
    this.histogram.reset();
    this.checkLateMs = 0;
    this.windowStarted = now;
  }

  private setSampling(on: boolean): void {
    if (on === this.sampling) return;
    this.sampling = on;
    if (on) this.histogram.enable();
    else this.histogram.disable();
  }
}
