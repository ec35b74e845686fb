// The tests' one polling helper: it returns the value that met the condition, and on timeout its
// error names what was awaited and the last value seen, so a failing test says how far it got.

import t from 'tap';
import { pollSettled, PollTimeoutError, pollUntil, waitFor } from '../../helpers/poll.js';

t.test('returns the first value the condition accepts, probing until then', async (t) => {
  let probes = 0;
  const value = await pollUntil('the third probe', () => (probes += 1), (seen) => seen === 3, { intervalMs: 1 });
  t.equal(value, 3);
  t.equal(probes, 3, 'no probe after the accepted one');
});

t.test('on timeout: a coded error naming what was awaited and the last value seen', async (t) => {
  let probes = 0;
  const started = Date.now();
  const error: unknown = await pollUntil('a count of 1000', () => ({ count: (probes += 1) }), (seen) => seen.count >= 1000, { timeoutMs: 60, intervalMs: 10 }).catch((caught: unknown) => caught);
  t.ok(error instanceof PollTimeoutError, 'a PollTimeoutError');
  const timeout = error as PollTimeoutError;
  t.equal(timeout.code, 'UX_TEST_POLL_TIMEOUT');
  t.equal(timeout.what, 'a count of 1000');
  t.same(timeout.last, { count: probes }, 'the last value is the last probe\'s');
  t.match(timeout.message, /a count of 1000; last seen: \{"count":\d+\}/);
  t.ok(Date.now() - started >= 60, 'not before the deadline');
  t.ok(probes >= 2, `probed more than once (${probes})`);
});

t.test('a probe that throws ends the wait with its error', async (t) => {
  const broken = new Error('probe broke');
  await t.rejects(pollUntil('never', () => Promise.reject(broken), () => true), broken);
});

t.test('waitFor: a boolean condition', async (t) => {
  let flips = 0;
  await waitFor('the third flip', () => (flips += 1) === 3, { intervalMs: 1 });
  t.equal(flips, 3);
  await t.rejects(waitFor('a condition that never holds', () => false, { timeoutMs: 20, intervalMs: 5 }), { code: 'UX_TEST_POLL_TIMEOUT', last: false });
});

t.test('pollSettled: the accepted value, or at the deadline the last value seen, never a throw', async (t) => {
  let count = 0;
  t.equal(await pollSettled('a count of 3', () => (count += 1), (seen) => seen >= 3, { intervalMs: 1 }), 3);
  const last = await pollSettled('a count of 1000', () => (count += 1), (seen) => seen >= 1000, { timeoutMs: 20, intervalMs: 5 });
  t.equal(last, count, 'the last probe\'s value, for the caller\'s assertion to judge');
  await t.rejects(pollSettled('never', () => Promise.reject(new Error('probe broke')), () => true), { message: 'probe broke' }, 'a probe error still ends the wait');
});
