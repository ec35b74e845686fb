// What the client keeps on the device: events not yet settled by the server, the highest seq it
// ever assigned, and the last stored answers it knows of. The storage implementations persist these.

import type { EventKind } from '../../events/answer-event.js';
import type { StoredAnswer } from '../../protocol/server-frame.js';

export type { StoredAnswer } from '../../protocol/server-frame.js';

/** One event kept on the device until an ack or a nack settles it. */
export interface KeptEvent {
  /** Local key, increasing in the order the student made the events; never sent. */
  readonly id: number;
  /** null until the device's first welcome (docs/PROTOCOL.md section 7, rule 2). */
  seq: number | null;
  readonly kind: EventKind;
  /** The question id for `answer`, else null. */
  readonly question: string | null;
  /** The value for `answer`, else null. */
  readonly value: string | null;
  /** The `ts` sent: the device's clock when the student made the event, or null. */
  readonly clientTs: number | null;
}

/** Everything kept besides the events, written in the same transaction as them. */
export interface KeptMeta {
  /** The highest seq this device ever assigned or saw in a welcome: never handed out again. */
  highestSeq: number;
  /** The device was welcomed at least once, so it may assign seqs while offline. */
  welcomed: boolean;
  /** The next local id. */
  nextId: number;
  /** The last stored answer per question the device knows of (resume, then acks). */
  answers: Array<[question: string, answer: StoredAnswer]>;
  /** The student's submit is known to be stored. */
  submitted: boolean;
}

export interface KeptState {
  events: KeptEvent[];
  meta: KeptMeta;
}

/** One atomic write: the storage applies all of it or none of it. */
export interface StoreWrite {
  put: KeptEvent[];
  remove: number[];
  meta: KeptMeta | null;
}

export const EMPTY_META: KeptMeta = Object.freeze({ highestSeq: 0, welcomed: false, nextId: 1, answers: [], submitted: false }) as KeptMeta;

/** What `client.pending` shows of one kept event. */
export interface PendingEvent {
  readonly seq: number | null;
  readonly kind: EventKind;
  readonly question: string | null;
  readonly value: string | null;
  readonly ts: number | null;
}
