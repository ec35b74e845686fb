// The stop timeouts bound one another (rule S1): each backstop above what it backs up, each
// inner wait inside the step that holds it, and the whole stop inside the S1 deadline.

import t from 'tap';
import * as T from '../../../src/stop-timeouts.js';

t.test('rule S1: the deadline is the drain time plus 10 s, and the steps after the drain fit in those 10 s', async (t) => {
  t.equal(T.STOP_DEADLINE_MS, T.DRAIN_TIMEOUT_MS + 10_000);
  t.ok(T.STOP_STEP_MS < T.STOP_DEADLINE_MS - T.DRAIN_TIMEOUT_MS, 'a stop step after the drain');
  t.ok(T.LOST_WRITER_FINISH_MS < T.DRAIN_TIMEOUT_MS, 'the short finish when a writer or Redis is gone');
  t.ok(T.EXPORT_CLOSE_TIMEOUT_MS <= T.DRAIN_TIMEOUT_MS, 'the exporter pool closes within the drain time');
});

t.test('a gateway process gets its whole drain and is forced before the primary\'s deadline', async (t) => {
  t.ok(T.GATEWAY_PROCESS_STOP_MS >= T.DRAIN_TIMEOUT_MS);
  t.ok(T.GATEWAY_PROCESS_STOP_MS < T.STOP_DEADLINE_MS);
});

t.test('each supervisor backstop is above its child\'s own stop, so the child\'s force comes first', async (t) => {
  t.ok(T.ACTOR_SHUTDOWN_MS > T.ACTOR_STOP_TIMEOUT_MS, 'actor threads');
  t.ok(T.REDIS_SHUTDOWN_MS > T.REDIS_STOP_TIMEOUT_MS, 'the embedded redis-server');
  t.ok(T.GATEWAY_PROCESS_SHUTDOWN_MS > T.GATEWAY_PROCESS_STOP_MS, 'gateway processes');
});

t.test('a connection actor\'s last presence round ends inside its own stop', async (t) => {
  t.ok(T.PRESENCE_LEAVE_MS < T.ACTOR_STOP_TIMEOUT_MS);
  t.ok(T.PRESENCE_LEAVE_MS + T.CLOSE_HANDSHAKE_MS < T.ACTOR_STOP_TIMEOUT_MS, 'and so does its wait for the close handshakes');
});
