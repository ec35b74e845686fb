// The client's link state machine on its own, on a plain clock number: hello only after the socket
// opened, a welcome only after the hello, the welcome/answers/silence deadlines, and the reconnect backoff.

import t from 'tap';
import { Link, type LinkOptions } from '../../../src/client/core/link.js';

const link = (options: Partial<LinkOptions> = {}): Link =>
  new Link({ reconnect: (attempt) => 100 * (attempt + 1), welcomeTimeoutMs: 1_000, answersTimeoutMs: 200, silenceTimeoutMs: 500, ...options });

t.test('opening, hello, resuming, online: each step only from the one before', async (t) => {
  const l = link();
  t.equal(l.welcomed(0, true), false, 'no welcome before a hello');
  l.open(0);
  t.same([l.state, l.conn], ['opening', 1]);
  t.equal(l.welcomed(0, true), false, 'no welcome before the socket opened');
  t.ok(l.opened());
  t.notOk(l.opened(), 'one hello per socket');
  t.ok(l.welcomed(10, true));
  t.equal(l.state, 'resuming');
  t.equal(l.nextDeadline, 210, 'the answers deadline is now the nearest');
  l.online();
  t.same([l.state, l.nextDeadline], ['online', null], 'online: no start deadlines left');
  l.open(300);
  t.equal(l.conn, 2, 'each socket has its own number');
});

t.test('the welcome deadline runs from opening; the answers deadline from the welcome', async (t) => {
  const l = link();
  l.open(0);
  t.notOk(l.welcomeOverdue(999));
  t.ok(l.welcomeOverdue(1_000));
  l.opened();
  l.welcomed(400, true);
  t.notOk(l.answersOverdue(599));
  t.ok(l.answersOverdue(600));
  l.drop();
  t.notOk(l.welcomeOverdue(5_000), 'a dropped link has no deadlines');
  t.notOk(l.answersOverdue(5_000));
  const noWait = link({ welcomeTimeoutMs: null });
  noWait.open(0);
  t.notOk(noWait.welcomeOverdue(1e9), 'null: waits as long as the socket stays open');
});

t.test('silence counts from the first unanswered send and restarts on every frame while events await acks', async (t) => {
  const l = link();
  l.open(0);
  l.opened();
  l.welcomed(0, false);
  l.online();
  t.notOk(l.silenceOverdue(10_000), 'nothing sent: silence is no sign of a dead link');
  l.sent(100);
  l.sent(300);
  t.notOk(l.silenceOverdue(599));
  t.ok(l.silenceOverdue(600), 'from the first send, not the last');
  l.heard(550, true);
  t.notOk(l.silenceOverdue(1_049));
  t.ok(l.silenceOverdue(1_050));
  l.heard(1_000, false);
  t.notOk(l.silenceOverdue(10_000), 'nothing awaited: the clock stops');
});

t.test('the reconnect backoff grows per attempt, is due once, and starts over once online', async (t) => {
  const l = link();
  t.ok(l.scheduleReconnect(0));
  t.equal(l.nextDeadline, 100);
  t.notOk(l.reconnectDue(99));
  t.ok(l.reconnectDue(100));
  t.notOk(l.reconnectDue(100), 'due once');
  t.ok(l.scheduleReconnect(100));
  t.equal(l.nextDeadline, 300, 'the second attempt waits longer');
  t.ok(l.reconnectNow(150), 'cut short');
  t.ok(l.reconnectDue(150));
  t.notOk(l.reconnectNow(150), 'nothing planned to cut short');
  l.open(150);
  l.opened();
  l.welcomed(150, false);
  l.online();
  l.drop();
  t.ok(l.scheduleReconnect(1_000));
  t.equal(l.nextDeadline, 1_100, 'back to the first delay after being online');
  l.cancelReconnect();
  t.equal(l.nextDeadline, null);
  const never = link({ reconnect: null });
  t.notOk(never.scheduleReconnect(0), 'null: never reconnect');
  const twice = link({ reconnect: (attempt) => (attempt < 1 ? 10 : null) });
  t.ok(twice.scheduleReconnect(0));
  t.notOk(twice.scheduleReconnect(10), 'the backoff gives up');
});
