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
