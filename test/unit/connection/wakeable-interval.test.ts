// The timer that sleeps while a connection actor has nothing to do: off when idle or stopped,
// woken when work arrives, asleep again when its tick says so, and never back after stop().

import t from 'tap';
import { WakeableInterval } from '../../../actors/connection/wakeable-interval.js';
import { pollUntil } from '../../helpers/poll.js';

t.test('runs only between a wake with work and a sleep; stop is for good', async (t) => {
  let work = 0;
  let ticks = 0;
  const interval = new WakeableInterval(5, () => {
    ticks += 1;
    if (--work <= 0) interval.sleep();
  }, () => work <= 0);
  t.teardown(() => interval.stop());
  interval.wake();
  t.notOk(interval.ticking, 'not started: a wake does nothing');
  interval.start();
  t.notOk(interval.ticking, 'started with nothing to do: no timer');
  work = 3;
  interval.wake();
  t.ok(interval.ticking, 'woken with work');
  await pollUntil('the work done', () => interval.ticking, (ticking) => !ticking, { timeoutMs: 5_000 });
  t.equal(ticks, 3, 'one tick per unit of work, then asleep');
  work = 1;
  interval.wake();
  interval.wake();
  t.ok(interval.ticking, 'a second wake does not start a second timer');
  interval.stop();
  t.notOk(interval.ticking);
  work = 5;
  interval.wake();
  t.notOk(interval.ticking, 'stopped: never woken again');
  const before = ticks;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.equal(ticks, before, 'no tick after the stop');
});
