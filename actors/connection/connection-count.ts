// The count of student sockets behind gateway.maxConnections, shared by every connection actor:
// one process total to reserve against, plus each actor's share so a crashed actor's can be given back.

/** Int32 slots: [0] the process total, [1 + i] the sockets connection actor i holds. */
export function createConnectionCount(connectionActors: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (1 + connectionActors));
}

/** One connection actor's view of the shared count. */
export class ConnectionCount {
  private readonly counts: Int32Array;

  constructor(
    sab: SharedArrayBuffer,
    private readonly actorIndex: number,
  ) {
    this.counts = new Int32Array(sab);
  }

  /** Takes one socket's place if the process holds fewer than `max`; false when full. */
  tryTake(max: number): boolean {
    if (Atomics.add(this.counts, 0, 1) >= max) {
      Atomics.sub(this.counts, 0, 1);
      return false;
    }
    Atomics.add(this.counts, 1 + this.actorIndex, 1);
    return true;
  }

  release(): void {
    Atomics.sub(this.counts, 0, 1);
    Atomics.sub(this.counts, 1 + this.actorIndex, 1);
  }
}

/**
 * Gives back the places a dead connection actor's sockets held (they closed with its thread, but
 * its close handlers never ran). Call only once that thread is gone, before its next incarnation.
 */
export function reclaimConnections(sab: SharedArrayBuffer, actorIndex: number): number {
  const counts = new Int32Array(sab);
  const held = Atomics.exchange(counts, 1 + actorIndex, 0);
  Atomics.sub(counts, 0, held);
  return held;
}
