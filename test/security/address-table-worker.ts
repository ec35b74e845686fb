// Worker for the address-table stress test: one "connection actor" taking and giving back places
// for a few addresses at random, checking against an independent count that no cap is exceeded.

import { parentPort, workerData } from 'node:worker_threads';
import { AddressTable } from '../../actors/connection/address-table.js';
import { rng } from './frame-generator.js';

interface Data {
  table: SharedArrayBuffer;
  /** One Int32 per address: places held right now, counted by the workers themselves. */
  truth: SharedArrayBuffer;
  /** [0] violations seen, [1] takes, [2] refusals, [3] workers still running. */
  stats: SharedArrayBuffer;
  actorIndex: number;
  addresses: string[];
  cap: number;
  operations: number;
  seed: number;
  /** Keep the places held at the end (the test then terminates this worker, as a crash would). */
  holdAtEnd: boolean;
}

const data = workerData as Data;
const table = new AddressTable(data.table, data.actorIndex);
const truth = new Int32Array(data.truth);
const stats = new Int32Array(data.stats);
const random = rng(data.seed);
const held: number[] = [];

for (let op = 0; op < data.operations; op++) {
  if (held.length > 0 && random() < 0.48) {
    const which = held.splice(Math.floor(random() * held.length), 1)[0]!;
    // The independent count drops before the place is given back, so it never exceeds the table's.
    Atomics.sub(truth, which, 1);
    table.release(data.addresses[which]!);
    continue;
  }
  const which = Math.floor(random() * data.addresses.length);
  const outcome = table.tryTake(data.addresses[which]!, data.cap);
  if (outcome !== 'taken') {
    Atomics.add(stats, 2, 1);
    continue;
  }
  Atomics.add(stats, 1, 1);
  if (Atomics.add(truth, which, 1) + 1 > data.cap) Atomics.add(stats, 0, 1);
  held.push(which);
}
// The test then kills this worker and checks that reclaim frees what it held, so it must hold
// something: with the other threads holding every place, its last operations may have left it none.
// They give theirs back when they finish, so keep trying until one is ours.
for (let which = 0; data.holdAtEnd && held.length === 0; which = (which + 1) % data.addresses.length) {
  if (table.tryTake(data.addresses[which]!, data.cap) !== 'taken') continue;
  Atomics.add(stats, 1, 1);
  if (Atomics.add(truth, which, 1) + 1 > data.cap) Atomics.add(stats, 0, 1);
  held.push(which);
}
if (!data.holdAtEnd) {
  for (const which of held.splice(0)) {
    Atomics.sub(truth, which, 1);
    table.release(data.addresses[which]!);
  }
}
// A release that met a busy lock waits in the actor's pending list for a retry timer; a real actor's
// loop lives on until it fires, this worker's would not. countOf takes the lock and applies them.
while (table.countOf(data.addresses[0]!) < 0) {
  // the lock was busy past its wait: try again
}
parentPort!.postMessage({ held: held.map((which) => data.addresses[which]) });
