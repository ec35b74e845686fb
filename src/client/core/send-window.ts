// How many unacked events the client may have on the wire: additive increase as acks come in,
// halved on every `rate_limited` / `busy`, so a long backlog drains at the server's pace.

import { MAX_SEND_WINDOW } from '../../protocol/send-window.js';

export { MAX_SEND_WINDOW };

export class SendWindow {
  #size: number;

  constructor(readonly max: number) {
    this.#size = max;
  }

  /** Whole events allowed on the wire now (at least 1). */
  get size(): number {
    return Math.max(1, Math.floor(this.#size));
  }

  /** `settled` events left the wire: grow by about one per window's worth (TCP's congestion avoidance). */
  grow(settled: number): void {
    this.#size = Math.min(this.max, this.#size + settled / Math.max(1, this.#size));
  }

  /** The server refused an event for its rate: send half as many at a time. */
  shrink(): void {
    this.#size = Math.max(1, this.#size / 2);
  }
}
