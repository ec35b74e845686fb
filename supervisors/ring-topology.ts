// The shared memory of one gateway process, owned by the root supervisor so it outlives every
// actor: one event ring per (connection actor, writer) pair, one ack ring back, and doorbells.

import { createConnectionCount } from '../actors/connection/connection-count.js';
import { createWireTallies } from '../actors/connection/wire-tallies.js';
import { createDoorbell } from '../src/ring/doorbell.js';
import { createRing } from '../src/ring/ring-layout.js';

export interface RingTopology {
  connectionActors: number;
  writers: number;
  /** eventRings[c][w]: connection actor c produces, writer w consumes. */
  eventRings: SharedArrayBuffer[][];
  /** ackRings[w][c]: writer w produces, connection actor c consumes. */
  ackRings: SharedArrayBuffer[][];
  /** Rung by connection actors after publishing events for writer w. */
  writerDoorbells: SharedArrayBuffer[];
  /** Rung by writers after publishing acks for connection actor c. */
  connectionDoorbells: SharedArrayBuffer[];
  /** Live student sockets in this process and per connection actor, for gateway.maxConnections. */
  connectionCount: SharedArrayBuffer;
  /** wireTallies[c]: connection actor c's latency histograms and frame counts (wire-tallies.ts). */
  wireTallies: SharedArrayBuffer[];
}

export function createRingTopology(connectionActors: number, writers: number, ringBytes: number, ackRingBytes: number): RingTopology {
  const range = (n: number) => Array.from({ length: n }, (_, index) => index);
  return {
    connectionActors,
    writers,
    eventRings: range(connectionActors).map(() => range(writers).map(() => createRing(ringBytes))),
    ackRings: range(writers).map(() => range(connectionActors).map(() => createRing(ackRingBytes))),
    writerDoorbells: range(writers).map(() => createDoorbell()),
    connectionDoorbells: range(connectionActors).map(() => createDoorbell()),
    connectionCount: createConnectionCount(connectionActors),
    wireTallies: range(connectionActors).map(() => createWireTallies()),
  };
}
