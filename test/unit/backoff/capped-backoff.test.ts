// The shared capped backoff: each jitter's range, the first attempt's numbering, the factor, the
// cap for any attempt, and the callers' own parameters (the delays each one is documented to wait).

import t from 'tap';
import { cappedBackoff } from '../../../src/backoff.js';
import { cappedExponentialBackoff } from '../../../src/export/export-job.js';
import { shardRetryDelay } from '../../../src/export/shard-wait.js';
import { defaultReconnectBackoff } from '../../../src/redis/redis-client.js';
import { growingRestartDelay } from '../../../supervisors/supervisor-spec.js';

const TOP = 1 - Number.EPSILON;

t.test('each jitter spreads the delay over its own range below the ceiling', async (t) => {
  const base = { baseMs: 100, maxMs: 1000, firstAttempt: 0 } as const;
  t.same([0, 1, 2, 3, 4, 9].map(cappedBackoff({ ...base, jitter: 'none' })), [100, 200, 400, 800, 1000, 1000]);
  t.same([0, 3].map(cappedBackoff({ ...base, jitter: 'full' }, () => 0)), [0, 0], 'full reaches zero');
  t.same([0, 3].map(cappedBackoff({ ...base, jitter: 'full' }, () => TOP)), [99, 799], 'full stays below the ceiling');
  t.same([0, 3].map(cappedBackoff({ ...base, jitter: 'equal' }, () => 0)), [50, 400], 'equal waits at least half');
  t.same([0, 3].map(cappedBackoff({ ...base, jitter: 'equal' }, () => TOP)), [99, 799]);
  t.same([0, 9].map(cappedBackoff({ ...base, jitter: { addMs: 30 } }, () => TOP)), [129, 1029], 'added jitter sits above the ceiling');
});

t.test('the first attempt gets baseMs whether callers count from 0 or 1; factor sets the growth', async (t) => {
  t.same([1, 2, 3].map(cappedBackoff({ baseMs: 10, maxMs: 1e6, jitter: 'none', firstAttempt: 1 })), [10, 20, 40]);
  t.same([0, 1, 2, 3, 4].map(cappedBackoff({ baseMs: 10, maxMs: 1000, factor: 5, jitter: 'none', firstAttempt: 0 })), [10, 50, 250, 1000, 1000]);
});

t.test('finite and capped for any attempt, a zero base included', async (t) => {
  const huge = [-3, 0, 1, 1023, 1024, 1100, Number.MAX_SAFE_INTEGER];
  t.same(huge.map(cappedBackoff({ baseMs: 3, maxMs: 700, factor: 7, jitter: 'none', firstAttempt: 1 })), [3, 3, 3, 700, 700, 700, 700]);
  t.same(huge.map(cappedBackoff({ baseMs: 0, maxMs: 0, jitter: 'equal', firstAttempt: 0 }, () => TOP)), huge.map(() => 0));
});

t.test('bad options are config errors naming the option path', async (t) => {
  t.throws(() => cappedBackoff({ baseMs: -1, maxMs: 5, jitter: 'none', firstAttempt: 0, path: 'export.retry' }), { code: 'UX_ERR_CONFIG', key: 'export.retry.baseMs' });
  t.throws(() => cappedBackoff({ baseMs: 10, maxMs: 5, jitter: 'none', firstAttempt: 0 }), { code: 'UX_ERR_CONFIG', key: 'backoff.maxMs' });
  t.throws(() => cappedBackoff({ baseMs: 1, maxMs: 5, factor: 0.5, jitter: 'none', firstAttempt: 0 }), { code: 'UX_ERR_CONFIG', key: 'backoff.factor' });
});

t.test('each caller keeps its own parameters', async (t) => {
  t.same([1, 2, 6, 7].map(growingRestartDelay(250, 8_000)), [250, 500, 8000, 8000], 'the embedded Redis restart delay');
  const redis = Array.from({ length: 30 }, (_, i) => defaultReconnectBackoff(i + 1));
  t.ok(redis.every((d) => d >= 50 && d < 2100) && redis[0]! < 150 && redis[29]! >= 2000, 'Redis reconnect: 50 ms doubling to 2 s, plus up to 100 ms');
  const shard = Array.from({ length: 30 }, (_, i) => shardRetryDelay(i + 1));
  t.ok(shard.every((d) => d >= 100 && d < 5000) && shard[0]! < 200 && shard[29]! >= 2500, 'shard wait: 200 ms doubling to 5 s, equal jitter');
  const exportRetry = cappedExponentialBackoff({ attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 });
  t.ok(exportRetry(1)! >= 0 && exportRetry(1)! < 100 && exportRetry(2)! < 200, 'export.retry: full jitter under its ceiling');
  t.equal(exportRetry(3), null, 'export.retry gives up after export.retry.attempts');
});
