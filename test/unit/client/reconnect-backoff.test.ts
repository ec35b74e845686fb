// Reconnect backoff: full jitter inside a ceiling that doubles from baseMs and never passes maxMs,
// finite for any attempt, and options validated with the option's name.

import t from 'tap';
import { BACKOFF_DEFAULTS, fullJitterBackoff } from '../../../src/client/reconnect-backoff.js';

const TOP = 1 - Number.EPSILON; // the largest value Math.random() can return, near enough

t.test('the ceiling doubles from baseMs and is capped at maxMs', async (t) => {
  const highest = fullJitterBackoff({ baseMs: 100, maxMs: 5000 }, () => TOP);
  t.same([0, 1, 2, 3, 4, 5, 6, 7].map(highest), [99, 199, 399, 799, 1599, 3199, 4999, 4999]);
  const lowest = fullJitterBackoff({ baseMs: 100, maxMs: 5000 }, () => 0);
  t.same([0, 5, 50].map(lowest), [0, 0, 0], 'full jitter reaches down to zero');
  const middle = fullJitterBackoff({ baseMs: 100, maxMs: 5000 }, () => 0.5);
  t.same([0, 1, 10].map(middle), [50, 100, 2500]);
});

t.test('bounded and finite for every attempt, whatever the random source', async (t) => {
  let seed = 1;
  const random = (): number => {
    seed = (seed * 16807) % 2147483647;
    return (seed - 1) / 2147483646;
  };
  const backoff = fullJitterBackoff({ baseMs: 3, maxMs: 700 }, random);
  const bad: number[] = [];
  for (const attempt of [-5, 0, 1, 2, 10, 31, 32, 53, 1023, 1024, 1100, 100_000, Number.MAX_SAFE_INTEGER]) {
    for (let i = 0; i < 200; i++) {
      const d = backoff(attempt);
      if (d === null || !Number.isInteger(d) || d < 0 || d >= 700) bad.push(attempt);
    }
  }
  t.same(bad, []);
  const zeroBase = fullJitterBackoff({ baseMs: 0, maxMs: 0 }, () => TOP);
  t.equal(zeroBase(5000), 0, 'no NaN from 0 * 2^big');
});

t.test('defaults, and bad options named in a config error', async (t) => {
  const backoff = fullJitterBackoff({}, () => TOP);
  t.equal(backoff(0), BACKOFF_DEFAULTS.baseMs - 1);
  t.equal(backoff(60), BACKOFF_DEFAULTS.maxMs - 1);
  t.throws(() => fullJitterBackoff({ baseMs: -1 }), { code: 'UX_ERR_CONFIG', key: 'reconnect.baseMs' });
  t.throws(() => fullJitterBackoff({ baseMs: Number.NaN }), { code: 'UX_ERR_CONFIG', key: 'reconnect.baseMs' });
  t.throws(() => fullJitterBackoff({ baseMs: 10, maxMs: 5 }), { code: 'UX_ERR_CONFIG', key: 'reconnect.maxMs' });
  t.throws(() => fullJitterBackoff({ maxMs: Number.POSITIVE_INFINITY }), { code: 'UX_ERR_CONFIG', key: 'reconnect.maxMs' });
});
