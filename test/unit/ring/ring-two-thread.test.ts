// Seeded randomized two-thread test: a real Worker pushes millions of variable-length records
// through a 64 KiB ring while this thread consumes with random batches, release lags and
// rewinds; every record must arrive once, in order, byte for byte.

import t from 'tap';
import { Worker } from 'node:worker_threads';
import { createRing } from '../../../src/ring/ring-layout.js';
import { RingConsumer } from '../../../src/ring/ring-consumer.js';
import { Doorbell, createDoorbell } from '../../../src/ring/doorbell.js';
import { checkRecord, fillRecord, recordSize, seededRandom } from '../../fixtures/ring-records.js';
import type { ProducerWorkerData } from '../../fixtures/ring-producer-worker.js';

const FIXTURE = new URL('../../fixtures/ring-producer-worker.js', import.meta.url);
const SEED = Number(process.env.RING_SEED ?? 0x1f2e3d4c) >>> 0;
const COUNT = Number(process.env.RING_RECORDS ?? 3_000_000);
const CAPACITY = 64 * 1024;
const SMALL_MAX = 160;
const BIG_EVERY = 1000;

t.test('the record checker notices a flipped byte, a wrong length and a wrong index', async (t) => {
  const record = new Uint8Array(40);
  fillRecord(record, 77);
  t.equal(checkRecord(record, 77, 40), null);
  t.not(checkRecord(record, 78, 40), null);
  t.not(checkRecord(record.subarray(0, 39), 77, 40), null);
  record[20] = record[20]! ^ 1;
  t.not(checkRecord(record, 77, 40), null);
});

t.test(`${COUNT} records through a 64 KiB ring between two threads (seed ${SEED})`, { timeout: 120_000 }, async (t) => {
  const ring = createRing(CAPACITY);
  const data: ProducerWorkerData = {
    ring,
    dataBell: createDoorbell(),
    spaceBell: createDoorbell(),
    seed: SEED,
    count: COUNT,
    smallMax: SMALL_MAX,
    bigEvery: BIG_EVERY,
  };
  const consumer = new RingConsumer(ring);
  const dataBell = new Doorbell(data.dataBell);
  const spaceBell = new Doorbell(data.spaceBell);
  const maxRecordBytes = CAPACITY / 2 - 8;
  const random = seededRandom(SEED);

  let workerError: unknown = null;
  let produced = -1;
  let fullWaits = 0;
  // execArgv: [] keeps tap's per-process --import hooks out of the worker (they cost ~1 s a start).
  const worker = new Worker(FIXTURE, { workerData: data, execArgv: [] });
  t.teardown(() => worker.terminate());
  worker.on('message', (message: { produced: number; fullWaits: number }) => {
    produced = message.produced;
    fullWaits = message.fullWaits;
  });
  worker.on('error', (error) => (workerError = error));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  let next = 0; // index of the next record this consumer expects
  let released = 0; // records before this index are released for good
  let rewinds = 0;
  let emptyWaits = 0;
  let maxLag = 0;
  const errors: string[] = [];
  const visit = (record: Uint8Array): void => {
    const problem = checkRecord(record, next, recordSize(SEED, next, SMALL_MAX, maxRecordBytes, BIG_EVERY));
    if (problem !== null && errors.length < 5) errors.push(problem);
    next++;
  };

  while (released < COUNT && errors.length === 0 && workerError === null) {
    const seen = dataBell.snapshot();
    const got = consumer.read(visit, 1 + (random() % 64));
    maxLag = Math.max(maxLag, next - released);
    const roll = random() % 100;
    if (roll < 1 && next > released) {
      // A failed batch: everything read since the last release comes again.
      consumer.rewind();
      next = released;
      rewinds++;
    } else if (roll < 40 || got === 0) {
      consumer.release(consumer.position());
      released = next;
      spaceBell.ring();
    }
    if (got === 0 && !consumer.hasUnread()) {
      if (exited) break;
      emptyWaits++;
      await dataBell.wait(seen, 1000);
    }
  }
  // Stopped early (a failure): the producer may be parked on a full ring, so stop it.
  if (released < COUNT) await worker.terminate();
  await exit;

  t.equal(workerError, null, 'the producer worker did not fail');
  t.same(errors, [], 'no record lost, duplicated, reordered or corrupted');
  t.equal(produced, COUNT, 'the producer pushed every record');
  t.equal(released, COUNT, 'the consumer released every record');
  t.equal(consumer.hasUnread(), false, 'nothing extra arrived');
  t.equal(consumer.usedBytes(), 0);
  t.ok(rewinds > 100, `rewound ${rewinds} times`);
  t.ok(fullWaits > 0, `the producer found the ring full ${fullWaits} times`);
  t.comment(`max lag ${maxLag} records, consumer waited ${emptyWaits} times`);
});
