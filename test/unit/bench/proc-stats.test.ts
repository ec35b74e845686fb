// The benchmarks' per-thread CPU: a server's busiest thread over a window is told apart from its
// other threads, on real threads of this process (a worker that spins while the main thread waits).

import { Worker } from 'node:worker_threads';
import t from 'tap';
import { CpuMeter, readThreadCpu } from '../../../bench/support/proc-stats.js';

/**
 * CPU seconds the worker burns on its own thread: many 10 ms clock ticks, so the reading is not a
 * rounding. Counted on the thread's own clock, not the wall's, so a loaded box only makes it slower.
 */
const SPIN_SECONDS = 0.3;

/** A worker that spins until its thread has used SPIN_SECONDS of CPU, says so, and stays alive (idle) until terminated. */
async function spinningWorker(): Promise<Worker> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { readFileSync } = require('node:fs');
    const cpu = () => {
      const stat = readFileSync('/proc/thread-self/stat', 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    };
    let spins = 0;
    while (cpu() < ${SPIN_SECONDS}) for (let i = 0; i < 100000; i++) spins += i;
    parentPort.postMessage(spins);
    setInterval(() => {}, 1000);`;
  const worker = new Worker(code, { eval: true });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return worker;
}

t.test("readThreadCpu lists this process's threads, the main thread among them", async (t) => {
  const threads = readThreadCpu(process.pid);
  t.ok(threads.has(process.pid), 'the main thread has the process id as its thread id');
  t.ok(threads.size > 1, `node runs more threads than one (${threads.size})`);
  const readings = [...threads.values()];
  t.ok(readings.every((cpu) => Number.isFinite(cpu) && cpu >= 0), `each a number of seconds: ${readings.join(', ')}`);
});

t.test('readThreadCpu of a process that is gone is empty', async (t) => {
  // Above the kernel's largest pid (2^22): no such process can exist.
  t.equal(readThreadCpu(4_194_305).size, 0);
});

t.test('the busiest thread of a window is the worker that spun, not the waiting main thread', async (t) => {
  const meter = new CpuMeter({ server: process.pid, redis: null });
  const before = readThreadCpu(process.pid).get(process.pid) ?? 0;
  meter.begin();
  // The worker's thread starts inside the window (it counts from zero) and is alive at its end.
  const worker = await spinningWorker();
  const cpu = meter.end();
  await worker.terminate();
  const mainThread = (readThreadCpu(process.pid).get(process.pid) ?? 0) - before;
  // Less than SPIN_SECONDS by at most the tick the worker's first reading fell in.
  const spun = SPIN_SECONDS - 0.02;
  t.ok(cpu.busiestThreadCpuSeconds >= spun, `busiest thread ${cpu.busiestThreadCpuSeconds} s: the worker's spin`);
  t.ok(mainThread < spun, `the main thread, which only waited, used ${mainThread} s`);
  t.ok(cpu.busiestThreadCpuSeconds <= cpu.serverCpuSeconds, `the busiest thread is part of the process (${cpu.serverCpuSeconds} s in all)`);
});
