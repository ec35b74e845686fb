// The outbox in IndexedDB (through `idb`): events and the client's meta in one database per
// student, every write one transaction that first checks this client still owns the store.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { KeptEvent, KeptMeta, KeptState, StoreWrite } from '../core/kept-event.js';
import { EMPTY_META } from '../core/kept-event.js';
import { StoreSupersededError, type OutboxStore } from './outbox-store.js';

/**
 * Version 1: `events` (key: the event's local id) and `meta` (one record, `state`). A later
 * version adds an upgrade step below; a page never has to clear a student's kept answers.
 */
export const OUTBOX_SCHEMA_VERSION = 1;

interface StoredMeta extends KeptMeta {
  /** Raised by each client that opens the store: the fencing token of its writes. */
  owner: number;
}

interface OutboxSchema extends DBSchema {
  events: { key: number; value: KeptEvent };
  meta: { key: string; value: StoredMeta };
}

const META_KEY = 'state';

export class IndexedDbStore implements OutboxStore {
  readonly kind = 'indexeddb' as const;
  #db: IDBPDatabase<OutboxSchema> | null = null;
  #owner = 0;

  constructor(readonly name: string) {}

  async open(): Promise<KeptState> {
    const db = await openDB<OutboxSchema>(this.name, OUTBOX_SCHEMA_VERSION, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          database.createObjectStore('events', { keyPath: 'id' });
          database.createObjectStore('meta');
        }
      },
      // A newer page wants to upgrade the schema: let it, this page's writes then fail loudly.
      blocking: () => this.#db?.close(),
    });
    this.#db = db;
    const tx = db.transaction(['events', 'meta'], 'readwrite');
    const meta = (await tx.objectStore('meta').get(META_KEY)) ?? { ...structuredClone(EMPTY_META), owner: 0 };
    this.#owner = meta.owner + 1;
    await tx.objectStore('meta').put({ ...meta, owner: this.#owner }, META_KEY);
    const events = await tx.objectStore('events').getAll();
    await tx.done;
    const { owner: _owner, ...kept } = meta;
    return { events, meta: kept };
  }

  async write(write: StoreWrite): Promise<void> {
    const db = this.#db;
    if (db === null) throw new Error(`outbox ${this.name} is not open`);
    const tx = db.transaction(['events', 'meta'], 'readwrite');
    const meta = tx.objectStore('meta');
    const current = await meta.get(META_KEY);
    if (current === undefined || current.owner !== this.#owner) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw new StoreSupersededError(this.name);
    }
    const events = tx.objectStore('events');
    const requests: Array<Promise<unknown>> = [
      ...write.put.map((event) => events.put(event)),
      ...write.remove.map((id) => events.delete(id)),
    ];
    if (write.meta !== null) requests.push(meta.put({ ...write.meta, owner: this.#owner }, META_KEY));
    await Promise.all([...requests, tx.done]);
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = null;
  }
}
