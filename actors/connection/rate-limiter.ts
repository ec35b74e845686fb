// Per-connection event rate limit: a token bucket refilled continuously. Answers whether one more
// event may pass, and counts refusals in a row so sustained abuse can be told from a burst.

export class EventRateLimiter {
  private tokens: number;
  private lastRefill: number;
  /** Refused events since the last accepted one. */
  strikes = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number = performance.now(),
  ) {
    this.tokens = burst;
    this.lastRefill = now;
  }

  tryTake(now: number = performance.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) * this.perSecond) / 1000);
    this.lastRefill = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.strikes = 0;
      return true;
    }
    this.strikes += 1;
    return false;
  }

  /** Counts an event refused for another reason (an earlier refused seq not resent yet) as a refusal in a row. */
  strike(): number {
    this.strikes += 1;
    return this.strikes;
  }
}
