import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLoopDelayMonitor } from '../../../src/telemetry/event-loop-delay.js';

function block(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // a callback that keeps the thread, as an overloaded actor does
  }
}

t.test('a blocked loop shows in the window it happened in, and the next quiet window forgets it', async (t) => {
  const monitor = new EventLoopDelayMonitor(600);
  t.teardown(() => monitor.stop());
  await sleep(50);
  block(300);
  await sleep(650); // the window that saw the block has closed
  const blocked = monitor.read();
  t.ok(blocked.maxMs >= 250, `max ${blocked.maxMs} ms after a 300 ms block`);
  t.ok(blocked.p99Ms <= blocked.maxMs, 'p99 is within the max');
  await sleep(1250); // a whole quiet window
  const quiet = monitor.read();
  t.ok(quiet.maxMs < 250, `max ${quiet.maxMs} ms in a quiet window`);
});

t.test('an idle thread is not sampled (no timer wakes it 100 times a second); work turns sampling back on', async (t) => {
  const monitor = new EventLoopDelayMonitor(400);
  t.teardown(() => monitor.stop());
  t.ok(monitor.active, 'a new monitor samples');
  await sleep(1_000); // at least one whole quiet check
  t.notOk(monitor.active, 'a quiet thread stops sampling');
  const busyUntil = Date.now() + 900;
  while (Date.now() < busyUntil) {
    block(20);
    await sleep(10);
  }
  t.ok(monitor.active, 'a thread doing work is sampled again');
});

t.test('a stall that begins on an idle thread still shows, through the lateness of the once-a-second check', async (t) => {
  const monitor = new EventLoopDelayMonitor(400);
  t.teardown(() => monitor.stop());
  await sleep(1_000);
  t.notOk(monitor.active, 'idle: not sampling');
  block(700); // longer than a check interval, so a check falls due inside it
  await sleep(50);
  t.ok(monitor.read().maxMs >= 250, `max ${monitor.read().maxMs} ms: the check that fell due inside the stall ran that late`);
  t.ok(monitor.active, 'and the stall turned sampling on');
});
