// Sockets that have not been welcomed yet (upgraded, no hello, or hello still being claimed), capped
// per source address and in all, so one machine cannot hold every place open without saying hello.

import { AddressTable, createAddressTable, reclaimAddresses, type TakeOutcome } from './address-table.js';
import { ConnectionCount, createConnectionCount, reclaimConnections } from './connection-count.js';

/** The shared memory behind the caps, owned by the gateway supervisor so it outlives every actor. */
export interface UnwelcomedMemory {
  count: SharedArrayBuffer;
  addresses: SharedArrayBuffer;
}

export function createUnwelcomedMemory(connectionActors: number, maxUnwelcomed: number): UnwelcomedMemory {
  return { count: createConnectionCount(connectionActors), addresses: createAddressTable(maxUnwelcomed) };
}

/** Gives back the places a dead connection actor's unwelcomed sockets held; returns how many. */
export function reclaimUnwelcomed(memory: UnwelcomedMemory, actorIndex: number, connectionActors: number): number {
  reclaimAddresses(memory.addresses, actorIndex, connectionActors);
  return reclaimConnections(memory.count, actorIndex);
}

export interface UnwelcomedLimits {
  /** Unwelcomed sockets in the whole gateway process. */
  maxUnwelcomed: number;
  /** Unwelcomed sockets from one source address. */
  maxUnwelcomedPerAddress: number;
}

/**
 * One connection actor's view. A socket takes a place at the upgrade and gives it back at its
 * welcome or its close, whichever comes first. Students hold a place for a round trip and a claim;
 * a flood that never says hello holds at most the per-address cap, so students from other
 * addresses keep getting in while its sockets wait out the hello timeout.
 */
export class UnwelcomedSockets {
  private readonly total: ConnectionCount;
  private readonly perAddress: AddressTable;

  constructor(
    memory: UnwelcomedMemory,
    actorIndex: number,
    private readonly limits: UnwelcomedLimits,
  ) {
    this.total = new ConnectionCount(memory.count, actorIndex);
    this.perAddress = new AddressTable(memory.addresses, actorIndex);
  }

  /**
   * Takes a place for a new socket from `address`: 'full' when either cap is reached, 'busy' when
   * another actor held the table's lock too long to wait for (the caller tries again shortly).
   */
  tryTake(address: string): TakeOutcome {
    const perAddress = this.perAddress.tryTake(address, this.limits.maxUnwelcomedPerAddress);
    if (perAddress !== 'taken') return perAddress;
    if (!this.total.tryTake(this.limits.maxUnwelcomed)) {
      this.perAddress.release(address);
      return 'full';
    }
    return 'taken';
  }

  release(address: string): void {
    this.total.release();
    this.perAddress.release(address);
  }
}
