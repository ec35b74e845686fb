// The per-connection token bucket on a fake clock: a burst passes at once, the rate refills it
// continuously, the bucket never holds more than the burst, and refusals in a row are counted.

import t from 'tap';
import { EventRateLimiter } from '../../../actors/connection/rate-limiter.js';

t.test('a full bucket lets the burst through at once, then refuses', async (t) => {
  const limiter = new EventRateLimiter(10, 3, 0);
  t.same([limiter.tryTake(0), limiter.tryTake(0), limiter.tryTake(0)], [true, true, true], 'the burst of 3');
  t.equal(limiter.tryTake(0), false, 'the 4th in the same instant is refused');
  t.equal(limiter.strikes, 1);
});

t.test('the bucket refills at the rate, continuously', async (t) => {
  const limiter = new EventRateLimiter(10, 1, 0);
  t.ok(limiter.tryTake(0));
  t.notOk(limiter.tryTake(99), '99 ms at 10/s is 0.99 of a token');
  t.ok(limiter.tryTake(100), 'the refill of 99 ms is kept: 1 ms more completes the token');
  t.notOk(limiter.tryTake(150), 'half a token');
  t.ok(limiter.tryTake(200));
});

t.test('a long pause refills no more than the burst', async (t) => {
  const limiter = new EventRateLimiter(100, 2, 0);
  t.ok(limiter.tryTake(0));
  t.ok(limiter.tryTake(0));
  const passed = [0, 1, 2, 3].map(() => limiter.tryTake(60_000));
  t.same(passed, [true, true, false, false], 'a minute idle at 100/s still allows only the burst of 2');
});

t.test('strikes count refusals in a row and reset on the next accepted event', async (t) => {
  const limiter = new EventRateLimiter(1, 1, 0);
  t.ok(limiter.tryTake(0));
  limiter.tryTake(1);
  limiter.tryTake(2);
  t.equal(limiter.strikes, 2, 'two refusals in a row');
  t.equal(limiter.strike(), 3, 'an event refused for another reason counts as the next refusal');
  t.ok(limiter.tryTake(1_002), 'a second later a token is back');
  t.equal(limiter.strikes, 0, 'and the strikes are forgotten');
});
