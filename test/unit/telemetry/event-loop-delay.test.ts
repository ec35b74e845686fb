// The event-loop delay monitor: windows roll on its clock, an idle thread stops sampling and work turns
// it back on, a stall on an idle thread shows through the late check; driven by a fake clock, plus one real stall.

import t from 'tap';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLoopDelayMonitor, type DelaySampler, type LoopClock } from '../../../src/telemetry/event-loop-delay.js';

/** A clock the test moves, with the busy share the next check will read. */
class FakeClock implements LoopClock {
  ms = 0;
  busy = 0.5;
  now(): number {
    return this.ms;
  }
  busyShare(): number {
    return this.busy;
  }
}

/** node's own histogram, fed the delays the test says the loop had, and only while enabled, as libuv's sampler is. */
class FakeSampler implements DelaySampler {
  readonly histogram: RecordableHistogram = createHistogram();
  enabled = false;
  get count(): number {
    return this.histogram.count;
  }
  get max(): number {
    return this.histogram.max;
  }
  percentile(percentile: number): number {
    return this.histogram.percentile(percentile);
  }
  reset(): void {
    this.histogram.reset();
  }
  enable(): boolean {
    const was = this.enabled;
    this.enabled = true;
    return !was;
  }
  disable(): boolean {
    const was = this.enabled;
    this.enabled = false;
    return was;
  }
  /** The loop ran a callback `ms` late. */
  delayed(ms: number): void {
    if (this.enabled) this.histogram.record(Math.round(ms * 1e6));
  }
}

/** node's histogram keeps about three significant digits: 300 ms reads back as 300.15. */
const wholeMs = (ms: number): number => Math.round(ms);

function rig(windowMs: number): { clock: FakeClock; sampler: FakeSampler; monitor: EventLoopDelayMonitor; checkOnTime: (times: number) => void } {
  const clock = new FakeClock();
  const sampler = new FakeSampler();
  const monitor = new EventLoopDelayMonitor({ windowMs, clock, sampler, timer: false });
  const checkOnTime = (times: number): void => {
    for (let i = 0; i < times; i++) {
      clock.ms += monitor.checkMs;
      monitor.check();
    }
  };
  return { clock, sampler, monitor, checkOnTime };
}

t.test('a blocked loop shows in the window it happened in, and the next quiet window forgets it', async (t) => {
  const { sampler, monitor, checkOnTime } = rig(4_000);
  t.teardown(() => monitor.stop());
  sampler.delayed(12);
  sampler.delayed(300);
  checkOnTime(1);
  t.equal(wholeMs(monitor.read().maxMs), 300, 'before the first window ends, the partial one is shown');
  checkOnTime(3); // the window that saw the block closes at 4 s
  t.equal(wholeMs(monitor.read().maxMs), 300, 'the closed window keeps its max');
  t.ok(monitor.read().p99Ms <= monitor.read().maxMs, 'p99 is within the max');
  sampler.delayed(15);
  t.equal(wholeMs(monitor.read().maxMs), 300, 'delays of the new window do not show until it closes');
  checkOnTime(4);
  t.equal(wholeMs(monitor.read().maxMs), 15, 'the quiet window that followed forgets the block');
});

t.test('an idle thread is not sampled (no timer wakes it 100 times a second); work turns sampling back on', async (t) => {
  const { clock, sampler, monitor, checkOnTime } = rig(4_000);
  t.teardown(() => monitor.stop());
  t.ok(monitor.active && sampler.enabled, 'a new monitor samples');
  clock.busy = 0.001;
  checkOnTime(1);
  t.notOk(monitor.active, 'a quiet thread stops sampling');
  t.notOk(sampler.enabled, 'and the sampler timer is off');
  clock.busy = 0.3;
  checkOnTime(1);
  t.ok(monitor.active && sampler.enabled, 'a thread doing work is sampled again');
});

t.test('a stall that begins on an idle thread still shows, through the lateness of the once-a-second check', async (t) => {
  const { clock, sampler, monitor, checkOnTime } = rig(4_000);
  t.teardown(() => monitor.stop());
  clock.busy = 0;
  checkOnTime(1);
  t.notOk(monitor.active, 'idle: not sampling');
  sampler.delayed(700); // not seen: the sampler is off
  clock.ms += monitor.checkMs + 700; // the check fell due inside a 700 ms stall and ran that late
  clock.busy = 0.7;
  monitor.check();
  t.equal(monitor.read().maxMs, 700, 'the check ran 700 ms late');
  t.ok(monitor.active, 'and the stall turned sampling on');
});

t.test('with the thread clock and libuv sampler, a real blocked loop shows', async (t) => {
  const monitor = new EventLoopDelayMonitor({ windowMs: 60_000 });
  t.teardown(() => monitor.stop());
  await sleep(30); // the sampler measures from its first tick: a block before it is not seen
  const until = Date.now() + 300;
  while (Date.now() < until) {
    // a callback that keeps the thread, as an overloaded actor does
  }
  await sleep(30); // libuv's sampling timer must run once after the block to record it
  t.ok(monitor.read().maxMs >= 250, `max ${monitor.read().maxMs} ms after a 300 ms block`);
});

t.test('with the libuv sampler, a thread that goes idle and works again does not count its idle spell as a delay', async (t) => {
  // node's sampler keeps its previous tick across disable() and enable(): before the monitor reset it
  // on going idle, the first tick after this 1.2 s idle spell recorded a delay of 1.2 s.
  const clock = new FakeClock();
  const monitor = new EventLoopDelayMonitor({ windowMs: 60_000, clock, timer: false });
  t.teardown(() => monitor.stop());
  const checkOnce = (busy: number): void => {
    clock.busy = busy;
    clock.ms += monitor.checkMs;
    monitor.check();
  };
  await sleep(50);
  checkOnce(0);
  t.notOk(monitor.active, 'the idle thread stops sampling');
  await sleep(1_200);
  checkOnce(0.5);
  t.ok(monitor.active, 'work turns sampling back on');
  await sleep(100); // ten ticks of the sampler after the idle spell
  t.ok(monitor.read().maxMs < 500, `max ${monitor.read().maxMs} ms after a 1.2 s idle spell and 150 ms of sampling`);
  const until = Date.now() + 300;
  while (Date.now() < until) {
    // a real block after the idle spell still shows
  }
  await sleep(30);
  t.ok(monitor.read().maxMs >= 250, `max ${monitor.read().maxMs} ms after a 300 ms block`);
});

t.test('the figures of a busy stretch that ended stay in its window', async (t) => {
  const { clock, sampler, monitor, checkOnTime } = rig(4_000);
  t.teardown(() => monitor.stop());
  sampler.delayed(250);
  clock.busy = 0;
  checkOnTime(1); // idle: the stretch with its 250 ms delay is folded and the sampler emptied
  t.equal(sampler.count, 0, 'the sampler is emptied when the thread goes idle');
  t.equal(wholeMs(monitor.read().maxMs), 250, 'the stretch that ended still counts in the open window');
  clock.busy = 0.5;
  checkOnTime(1);
  sampler.delayed(20);
  checkOnTime(2); // the window closes at 4 s
  t.equal(wholeMs(monitor.read().maxMs), 250, 'the closed window has both stretches: its max is the first one\'s');
  t.equal(wholeMs(monitor.read().p99Ms), 250, 'and its p99 the worse stretch\'s');
});
