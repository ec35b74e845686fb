// Doorbell wake-ups cross threads in both directions, a ring before the wait is never lost, and
// a pending wait keeps its thread alive until it is woken or times out.

import t from 'tap';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { Doorbell, createDoorbell } from '../../../src/ring/doorbell.js';
import type { DoorbellWorkerData } from '../../fixtures/ring-doorbell-worker.js';

const FIXTURE = new URL('../../fixtures/ring-doorbell-worker.js', import.meta.url);
/** Waits that only a ring can end: if the wake-up were lost, tap's timeout fails the test. */
const FOREVER_MS = 2 ** 31 - 1;

function startWorker(t: { teardown(fn: () => unknown): void }, data: DoorbellWorkerData): Worker {
  // execArgv: [] keeps tap's per-process --import hooks out of the worker (they cost ~1 s a start).
  const worker = new Worker(FIXTURE, { workerData: data, execArgv: [] });
  t.teardown(() => worker.terminate());
  return worker;
}

type Message = { parked?: true; woken?: true; changed?: boolean };

function nextMessage(worker: Worker): Promise<Message> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`doorbell worker exited (${code}) before answering`)));
  });
}

t.test('a ring in this thread wakes a waiter parked in a worker', { timeout: 15_000 }, async (t) => {
  const sab = createDoorbell();
  const bell = new Doorbell(sab);
  const worker = startWorker(t, { mode: 'waiter', bell: sab, timeoutMs: FOREVER_MS });
  t.same(await nextMessage(worker), { parked: true });
  const woken = nextMessage(worker);
  bell.ring();
  t.same(await woken, { woken: true, changed: true });
});

t.test('a ring in a worker wakes a waiter parked in this thread', { timeout: 15_000 }, async (t) => {
  const sab = createDoorbell();
  const bell = new Doorbell(sab);
  const worker = startWorker(t, { mode: 'ringer', bell: sab });
  await once(worker, 'online');
  const seen = bell.snapshot();
  const woken = bell.wait(seen, FOREVER_MS);
  worker.postMessage('ring');
  await woken;
  t.not(bell.snapshot(), seen);
});

t.test('a ring before the wait makes the wait resolve at once', { timeout: 15_000 }, async (t) => {
  const bell = new Doorbell(createDoorbell());
  const seen = bell.snapshot();
  bell.ring();
  await bell.wait(seen, FOREVER_MS);
  t.equal(bell.snapshot(), seen + 1);
});

t.test('a wait nobody rings ends at its timeout', { timeout: 15_000 }, async (t) => {
  const bell = new Doorbell(createDoorbell());
  const seen = bell.snapshot();
  await bell.wait(seen, 20);
  t.equal(bell.snapshot(), seen, 'it ended without a ring');
});

t.test('a pending wait keeps its worker alive until the timeout', { timeout: 15_000 }, async (t) => {
  // Node 20 lets a thread exit under a bare Atomics.waitAsync; the worker must still answer.
  const worker = startWorker(t, { mode: 'waiter', bell: createDoorbell(), timeoutMs: 200 });
  t.same(await nextMessage(worker), { parked: true });
  t.same(await nextMessage(worker), { woken: true, changed: false });
});

t.test('many rings while nobody waits, then a waiter still wakes', { timeout: 15_000 }, async (t) => {
  const sab = createDoorbell();
  const bell = new Doorbell(sab);
  for (let i = 0; i < 10_000; i++) bell.ring();
  const worker = startWorker(t, { mode: 'waiter', bell: sab, timeoutMs: FOREVER_MS });
  t.same(await nextMessage(worker), { parked: true });
  const woken = nextMessage(worker);
  bell.ring();
  t.same(await woken, { woken: true, changed: true });
});
