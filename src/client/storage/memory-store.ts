// The outbox kept in memory: for pages that cannot use IndexedDB and for Node clients. Its limit,
// said plainly: whatever is kept is lost with the page or the process (a reload, a crash).

import type { KeptEvent, KeptMeta, KeptState, StoreWrite } from '../core/kept-event.js';
import { EMPTY_META } from '../core/kept-event.js';
import { StoreSupersededError, type OutboxStore } from './outbox-store.js';

interface DeviceRecord {
  events: Map<number, KeptEvent>;
  meta: KeptMeta;
  owner: number;
}

/**
 * Memory that several clients may share, standing for one device: a test creates a client, drops
 * it and creates another on the same MemoryDevice, as a reload would find IndexedDB.
 */
export class MemoryDevice {
  readonly records = new Map<string, DeviceRecord>();
}

export class MemoryStore implements OutboxStore {
  readonly kind = 'memory' as const;
  #owner = 0;

  constructor(
    readonly name: string,
    private readonly device: MemoryDevice = new MemoryDevice(),
  ) {}

  open(): Promise<KeptState> {
    const record = this.#record();
    this.#owner = ++record.owner;
    return Promise.resolve(structuredClone({ events: [...record.events.values()], meta: record.meta }));
  }

  /** Applies the write at once (the client core counts on that: syncStorage); the promise only reports. */
  write(write: StoreWrite): Promise<void> {
    try {
      this.writeNow(write);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  writeNow(write: StoreWrite): void {
    const record = this.#record();
    if (record.owner !== this.#owner) throw new StoreSupersededError(this.name);
    for (const event of write.put) record.events.set(event.id, { ...event });
    for (const id of write.remove) record.events.delete(id);
    if (write.meta !== null) record.meta = structuredClone(write.meta);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #record(): DeviceRecord {
    let record = this.device.records.get(this.name);
    if (record === undefined) {
      record = { events: new Map(), meta: structuredClone(EMPTY_META), owner: 0 };
      this.device.records.set(this.name, record);
    }
    return record;
  }
}
