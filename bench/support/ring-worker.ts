// The producing thread of the ring benchmark: sends event envelopes to the main thread through a
// SharedArrayBuffer ring (doorbells both ways) or through postMessage, flat out or at a fixed rate.

import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell } from '../../src/ring/doorbell.js';
import { encodeEventRecord, eventRecordLength, type EventEnvelope } from '../../src/ring/event-record.js';
import { RingProducer } from '../../src/ring/ring-producer.js';

export interface RingWorkerData {
  transport: 'ring' | 'post' | 'post-batch';
  count: number;
  /** Records per second; 0 sends as fast as the consumer takes them. */
  rate: number;
  /** Records per publish (ring) or per message (post-batch) when sending flat out. */
  batch: number;
  /** postMessage has no backpressure: the producer stays at most this many records ahead of the consumer. */
  postWindow: number;
  ring: SharedArrayBuffer;
  dataBell: SharedArrayBuffer;
  spaceBell: SharedArrayBuffer;
  /** The consumer's count of records taken (Int32 slot 0), for the postMessage window. */
  consumed: SharedArrayBuffer;
}

const data = workerData as RingWorkerData;
const port = parentPort!;
const consumed = new Int32Array(data.consumed);
const spaceBell = new Doorbell(data.spaceBell);
const dataBell = new Doorbell(data.dataBell);

/** Absolute ms on a clock both threads share (timeOrigin differs per thread, the sum does not). */
const clock = () => performance.timeOrigin + performance.now();

function envelope(i: number): EventEnvelope {
  return {
    slot: i & 0xffff,
    generation: 1,
    incarnation: 1,
    epoch: 3,
    bucket: i & 63,
    event: { exam: 'EXAM-2025-FINAL', student: `S${100000 + (i % 19000)}`, seq: i + 1, kind: 'answer', question: `Q${(i % 40) + 1}`, value: 'B', clientTs: 1764400000000 + i, serverTs: clock() },
  };
}

const sleepTick = () => new Promise((resolve) => setImmediate(resolve));
/**
 * At a fixed rate the producer sends what is due once a millisecond, as a connection actor does per
 * socket read, instead of spinning on setImmediate: a spinning producer held one of the 2 cores at
 * 100% and the consumer's wake-ups waited for the scheduler (p99 19-22 ms on 2026-12-06; paced 0.24-0.32).
 */
const paceTick = () => new Promise((resolve) => setTimeout(resolve, 1));

async function sendRing(): Promise<void> {
  const producer = new RingProducer(data.ring);
  let i = 0;
  const started = performance.now();
  while (i < data.count) {
    const due = data.rate === 0 ? data.count : Math.min(data.count, Math.floor(((performance.now() - started) * data.rate) / 1000));
    const seen = spaceBell.snapshot();
    let full = false;
    let inBatch = 0;
    while (i < due) {
      const env = envelope(i);
      const target = producer.tryReserve(eventRecordLength(env));
      if (target === null) {
        full = true;
        break;
      }
      encodeEventRecord(env, target);
      i++;
      if (++inBatch === data.batch || data.rate !== 0) {
        producer.publish();
        dataBell.ring();
        inBatch = 0;
      }
    }
    producer.publish();
    dataBell.ring();
    if (full) await spaceBell.wait(seen, 100);
    else if (data.rate !== 0) await paceTick();
  }
}

async function sendPost(): Promise<void> {
  let i = 0;
  const started = performance.now();
  const batched = data.transport === 'post-batch';
  while (i < data.count) {
    const due = data.rate === 0 ? data.count : Math.min(data.count, Math.floor(((performance.now() - started) * data.rate) / 1000));
    const limit = Math.min(due, Atomics.load(consumed, 0) + data.postWindow);
    if (batched && data.rate === 0) {
      while (i < limit) {
        const n = Math.min(data.batch, limit - i);
        const list: EventEnvelope[] = new Array<EventEnvelope>(n);
        for (let k = 0; k < n; k++) list[k] = envelope(i + k);
        port.postMessage(list);
        i += n;
      }
    } else {
      for (; i < limit; i++) port.postMessage(envelope(i));
    }
    // The consumer's count moves only while this thread yields.
    if (i < data.count) await (data.rate !== 0 ? paceTick() : sleepTick());
  }
}

await (data.transport === 'ring' ? sendRing() : sendPost());
port.postMessage('done');
