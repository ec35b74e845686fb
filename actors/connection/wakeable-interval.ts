// A connection actor's periodic work that sleeps while there is nothing to do: no timer at all on an
// actor that holds no socket, woken again by the first one (the liveness sweep, the presence beacon).

export class WakeableInterval {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  /**
   * @param everyMs the period while awake
   * @param tick the work of one period; it may call sleep() once its owner has nothing left to do
   * @param idle true when there is nothing to do now: start() and wake() then leave the timer off
   */
  constructor(
    private readonly everyMs: number,
    private readonly tick: () => void,
    private readonly idle: () => boolean,
  ) {}

  start(): void {
    this.running = true;
    this.wake();
  }

  /** For good: wake() does nothing after a stop. */
  stop(): void {
    this.running = false;
    this.sleep();
  }

  /** True while the timer runs (for tests). */
  get ticking(): boolean {
    return this.timer !== null;
  }

  /** There may be work again (a socket arrived): the timer runs unless stopped or idle. */
  wake(): void {
    if (!this.running || this.timer !== null || this.idle()) return;
    this.timer = setInterval(this.tick, this.everyMs);
    // Never what keeps a thread alive: the actor's sockets and Redis connections do that.
    this.timer.unref();
  }

  sleep(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
