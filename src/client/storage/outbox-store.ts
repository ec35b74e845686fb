// Where a client keeps its events on the device: the interface both implementations share, and
// the error a store raises when another client of the same student took it over.

import { UntradexError } from '../../errors.js';
import type { KeptState, StoreWrite } from '../core/kept-event.js';

export interface OutboxStore {
  /** `indexeddb` survives reloads and browser restarts; `memory` lasts as long as the page. */
  readonly kind: 'indexeddb' | 'memory';
  /**
   * Loads what is kept and claims the store for this client: from now on a write by any
   * earlier client of the same student on this device fails with StoreSupersededError.
   */
  open(): Promise<KeptState>;
  /** Applies the write atomically, after every earlier write of this client. */
  write(write: StoreWrite): Promise<void>;
  close(): Promise<void>;
}

/** Another tab or client of this student on this device took the store over: this one must stop. */
export class StoreSupersededError extends UntradexError {
  constructor(name: string) {
    super('UX_ERR_CLIENT_STORAGE', `another tab or client of this student opened the exam on this device (store ${name}); this one stops`);
  }
}

/** One store per student and exam; the token says which without being verified here. */
export function outboxName(exam: string, student: string): string {
  return `untradex-outbox:${exam}:${student}`;
}
