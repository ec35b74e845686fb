// A clock read once per turn of the event loop: what the hot path stamps on every event it reads.
// On Node 20 performance.now() builds an hrtime array on each call (~0.1-0.3 µs here), too dear per event.

/**
 * Every frame handled in one turn was read off its socket in that turn's I/O phase, so one reading
 * serves them all; it is taken at the first call of a turn and forgotten at the turn's end
 * (setImmediate runs in the check phase, after the I/O callbacks). An idle turn reads nothing.
 */
export class TurnClock {
  private stamp = 0;
  private fresh = false;
  private readonly forget = () => {
    this.fresh = false;
  };

  now(): number {
    if (!this.fresh) {
      this.stamp = performance.now();
      this.fresh = true;
      setImmediate(this.forget);
    }
    return this.stamp;
  }
}
