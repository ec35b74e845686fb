// The one timer a sans-I/O client core needs, kept by its shell: after each input the core names its
// next deadline, and this re-arms a single setTimeout for it. Shared by the Node and browser clients.

/** What the timer needs of the core: when it next wants the time, and how to give it. */
export interface DeadlineCore {
  readonly nextDeadline: number | null;
  tick(now: number): void;
}

export class CoreTimer {
  readonly #core: DeadlineCore;
  /** A monotonic clock in ms: the one the core's deadlines are on. */
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt: number | null = null;

  constructor(core: DeadlineCore, now: () => number) {
    this.#core = core;
    this.#now = now;
  }

  /** Runs one core input and re-arms the one timer the core needs. */
  drive(input: () => void): void {
    input();
    const at = this.#core.nextDeadline;
    if (at === this.#timerAt) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = at;
    if (at === null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = null;
      this.drive(() => this.#core.tick(this.#now()));
    }, Math.max(0, at - this.#now()));
  }

  /** On close: the pending tick never fires (a later input whose deadline is unchanged arms none). */
  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
  }
}
