// The turn clock reads the time once per turn of the event loop: every event of a turn gets the
// same stamp, and the next turn reads the clock again.

import t from 'tap';
import { TurnClock } from '../../../src/telemetry/turn-clock.js';

t.test('one reading per turn, a new one the next turn', async (t) => {
  const clock = new TurnClock();
  const first = clock.now();
  while (performance.now() <= first) {
    // let the real clock move on within this turn
  }
  t.equal(clock.now(), first, 'the same stamp for the rest of the turn');
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(clock.now() > first, 'a later turn reads the clock again');
});
