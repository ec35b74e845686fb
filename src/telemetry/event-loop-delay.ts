// How late an actor's event loop runs its callbacks, over the last complete window: the figure that
// tells an operator a thread is overloaded (students then wait for acks although Redis is idle).

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface EventLoopDelay {
  /** Over the last complete window, ms. */
  p99Ms: number;
  maxMs: number;
}

const RESOLUTION_MS = 10;
const WINDOW_MS = 10_000;

/**
 * Samples this thread's loop delay with libuv timers (10 ms resolution, so the floor is about
 * 10 ms on an idle loop) and keeps the figures of the last full 10 s window, so that a status call
 * made at any moment reports a whole window rather than whatever accrued since the last call.
 */
export class EventLoopDelayMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private last: EventLoopDelay = { p99Ms: 0, maxMs: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(windowMs = WINDOW_MS) {
    this.histogram.enable();
    this.timer = setInterval(() => this.roll(), windowMs);
    this.timer.unref();
  }

  /** The last full window, or the current partial one before the first window ends. */
  read(): EventLoopDelay {
    return this.last.maxMs === 0 ? this.current() : this.last;
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private current(): EventLoopDelay {
    if (this.histogram.count === 0) return { p99Ms: 0, maxMs: 0 };
    return { p99Ms: this.histogram.percentile(99) / 1e6, maxMs: this.histogram.max / 1e6 };
  }

  private roll(): void {
    this.last = this.current();
    this.histogram.reset();
  }
}
