// The ring on its own: event records per second and latency through one SharedArrayBuffer ring
// between two threads, against postMessage of the same records (one per message, and batched).

import { Worker } from 'node:worker_threads';
import { bareExecArgv } from './support/untapped.js';
import t from 'tap';
import { createDoorbell, Doorbell } from '../src/ring/doorbell.js';
import { decodeEventRecord, type EventEnvelope } from '../src/ring/event-record.js';
import { RingConsumer } from '../src/ring/ring-consumer.js';
import { createRing } from '../src/ring/ring-layout.js';
import { newHistogram, recordMs, summarize, type LatencySummary } from './loadgen/latency.js';
import { fmt, ResultWriter, spreadOf } from './support/results.js';
import { envInt } from './support/sizes.js';
import type { RingWorkerData } from './support/ring-worker.js';

const RECORDS = envInt('UX_BENCH_RING_RECORDS', { small: 100_000, default: 1_000_000 });
const REPEATS = envInt('UX_BENCH_RING_REPEATS', { small: 1, default: 3 });
const LATENCY_RATE = envInt('UX_BENCH_RING_LATENCY_RATE', { small: 10_000, default: 20_000 });
// One 3 s window measured one scheduler stall more than the ring (2026-11-29: p99 21.4 ms from a single
// ~30 ms stall): longer windows, repeated and interleaved, say what each transport does.
const LATENCY_SECONDS = envInt('UX_BENCH_RING_LATENCY_SECONDS', { small: 1, default: 10 });
/** The default gateway.ringBytes. */
const RING_BYTES = envInt('UX_BENCH_RING_BYTES', { small: 4 * 1024 * 1024, default: 4 * 1024 * 1024 });
const BATCH = 64;
/** Latency is recorded after this much of each pass: both transports' JIT and heap warm up first. */
const WARMUP_MS = envInt('UX_BENCH_RING_WARMUP_MS', { small: 200, default: 1_000 });

type Transport = RingWorkerData['transport'];

interface Pass {
  recordsPerSecond: number;
  latency: LatencySummary;
}

const clock = () => performance.timeOrigin + performance.now();

/** One pass: the worker produces `count` records, this thread takes and decodes them. */
async function pass(transport: Transport, count: number, rate: number): Promise<Pass> {
  const ring = createRing(RING_BYTES);
  const dataBellSab = createDoorbell();
  const spaceBellSab = createDoorbell();
  const consumedSab = new SharedArrayBuffer(4);
  const consumed = new Int32Array(consumedSab);
  const histogram = newHistogram();
  const init: RingWorkerData = { transport, count, rate, batch: BATCH, postWindow: 50_000, ring, dataBell: dataBellSab, spaceBell: spaceBellSab, consumed: consumedSab };
  const worker = new Worker(new URL('./support/ring-worker.js', import.meta.url), { workerData: init, execArgv: bareExecArgv });
  const errored = new Promise<never>((_resolve, reject) => worker.once('error', reject));
  let taken = 0;
  let checksum = 0;
  const take = (env: EventEnvelope) => {
    taken++;
    checksum += env.event.seq;
    if (rate !== 0 && env.event.serverTs >= recordFrom) recordMs(histogram, clock() - env.event.serverTs);
  };
  const started = performance.now();
  const recordFrom = clock() + WARMUP_MS;
  if (transport === 'ring') {
    const consumer = new RingConsumer(ring);
    const dataBell = new Doorbell(dataBellSab);
    const spaceBell = new Doorbell(spaceBellSab);
    const drain = async () => {
      while (taken < count) {
        const seen = dataBell.snapshot();
        const n = consumer.read((record) => take(decodeEventRecord(record)), 4096);
        if (n > 0) {
          consumer.release(consumer.position());
          spaceBell.ring();
        } else {
          await dataBell.wait(seen, 100);
        }
      }
    };
    await Promise.race([drain(), errored]);
  } else {
    await Promise.race([
      new Promise<void>((resolve) => {
        worker.on('message', (message: EventEnvelope[] | EventEnvelope | 'done') => {
          if (message === 'done') return;
          if (Array.isArray(message)) for (const env of message) take(env);
          else take(message);
          Atomics.store(consumed, 0, taken);
          if (taken === count) resolve();
        });
      }),
      errored,
    ]);
  }
  const seconds = (performance.now() - started) / 1000;
  await worker.terminate();
  if (checksum !== (count * (count + 1)) / 2) throw new Error(`${transport}: records lost or reordered (checksum ${checksum})`);
  const latency = summarize(histogram);
  histogram.destroy();
  return { recordsPerSecond: count / seconds, latency };
}

const result = new ResultWriter('ring', 'The ring on its own: one SPSC ring between two threads against postMessage');
Object.assign(result.sizes, { records: RECORDS, repeats: REPEATS, latencyRate: LATENCY_RATE, latencySeconds: LATENCY_SECONDS, latencyWarmupMs: WARMUP_MS, ringBytes: RING_BYTES, publishBatch: BATCH });

const throughput: Record<Transport, number[]> = { ring: [], post: [], 'post-batch': [] };
const latencies: Record<'ring' | 'post', LatencySummary[]> = { ring: [], post: [] };
await t.test('throughput', async (t) => {
  // Interleaved, so a burst of noise from the rest of the machine hits every transport alike.
  for (let r = 0; r < REPEATS; r++) {
    for (const transport of ['ring', 'post', 'post-batch'] as const) {
      const { recordsPerSecond } = await pass(transport, RECORDS, 0);
      throughput[transport].push(recordsPerSecond);
      t.comment(`${transport}: ${fmt(recordsPerSecond)} records/s`);
    }
  }
});
await t.test(`latency at ${LATENCY_RATE} records/s`, async (t) => {
  for (let r = 0; r < REPEATS; r++) {
    for (const transport of ['ring', 'post'] as const) {
      const latency = (await pass(transport, LATENCY_RATE * LATENCY_SECONDS, LATENCY_RATE)).latency;
      latencies[transport].push(latency);
      t.comment(`${transport}: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms, max ${latency.maxMs} ms`);
    }
  }
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
result.add({ id: 'ring.recordsPerSecond', label: 'records/s through one ring (encode, publish, decode)', value: median(throughput.ring), unit: 'records/s', better: 'higher', spread: spreadOf(throughput.ring, `${REPEATS} runs`), baseline: { label: 'postMessage per record', value: median(throughput.post) } });
result.add({ id: 'ring.vsBatchedPost', label: `records/s through one ring, against postMessage of ${BATCH}-record arrays`, value: median(throughput.ring), unit: 'records/s', better: 'higher', baseline: { label: `postMessage of ${BATCH} records`, value: median(throughput['post-batch']) }, spread: spreadOf(throughput['post-batch'], `${REPEATS} runs of the baseline`) });
const latencyFigure = (id: string, label: string, pick: (summary: LatencySummary) => number) => {
  const ring = latencies.ring.map(pick);
  const post = latencies.post.map(pick);
  result.add({ id, label: `${label} at ${LATENCY_RATE.toLocaleString('en-US')} records/s (median of ${REPEATS} runs of ${LATENCY_SECONDS} s)`, value: median(ring), unit: 'ms', better: 'lower', spread: spreadOf(ring, `${REPEATS} runs`), baseline: { label: 'postMessage per record', value: median(post) } });
  return { ring: median(ring), post: median(post) };
};
latencyFigure('ring.p50', 'p50 latency', (summary) => summary.p50Ms);
const p99 = latencyFigure('ring.p99', 'p99 latency', (summary) => summary.p99Ms);
latencyFigure('ring.max', 'max latency', (summary) => summary.maxMs);
result.target({
  id: 'ring.p99',
  issue: 13,
  text: `the ring's p99 at ${LATENCY_RATE.toLocaleString('en-US')} records/s no worse than postMessage's, its throughput kept`,
  met: LATENCY_SECONDS >= 10 ? p99.ring <= p99.post && median(throughput.ring) >= median(throughput.post) : null,
  measured: `p99 ${fmt(p99.ring)} ms against ${fmt(p99.post)} ms; ${fmt(median(throughput.ring))} records/s against ${fmt(median(throughput.post))}`,
});
result.note('Each record is a real answer event (src/ring/event-record.ts) encoded in the producer thread and decoded to the same EventEnvelope object in the consumer, so both transports end with the same object on the consumer side; postMessage structured-clones it instead.');
result.note(`The producer stays at most 50,000 records ahead of the consumer with postMessage (it has no backpressure of its own); the ring pushes back when full. Latency: the producer stamps each record on a clock both threads share; the consumer parks on Atomics.waitAsync (the doorbell), as the writer actor does; records of each pass's first ${WARMUP_MS} ms (JIT and heap warm-up) are not counted. At a fixed rate the producer sends what is due once a millisecond, as a connection actor does per socket read; a producer spinning on setImmediate held a core and measured the scheduler (p99 about 20 ms for the ring).`);

t.comment(result.table());
t.ok(throughput.ring.length === REPEATS, 'every pass moved all its records in order');
t.comment(`results: ${result.write()}`);
