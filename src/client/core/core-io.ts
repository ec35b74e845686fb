// The client core's boundary: what it asks its shell to do (effects) and what it tells the page
// (notices). The core itself does no I/O; the Node and browser shells carry these out.

import type { ErrCode, NackCode } from '../../protocol/server-frame.js';
import type { KeptEvent, StoreWrite } from './kept-event.js';

/** The client's life as the page sees it (docs/PROTOCOL.md section 7). */
export type ClientStatus = 'connecting' | 'online' | 'offline' | 'closed' | 'replaced' | 'unauthorized' | 'stopped';

/** The final statuses: the client no longer connects. */
export const FINAL_STATUSES: ReadonlySet<ClientStatus> = new Set(['closed', 'replaced', 'unauthorized', 'stopped']);

export interface WelcomeInfo {
  exam: string;
  student: string;
  /** Highest seq the server holds durably for this student (0 if none). */
  lastSeq: number;
  state: 'open' | 'closed';
  serverTime: number;
}

/** How an event left the device's keeping. `superseded`: a later answer to its question, made on another device, is stored. */
export type SettleResult = 'ack' | 'nack';
export type SettleCode = NackCode | 'superseded' | null;

export interface Settled {
  seq: number;
  result: SettleResult;
  code: SettleCode;
  event: KeptEvent;
  /** Clock readings (the core's `now`) of the first send and of the settlement; null if never sent. */
  firstSentAt: number | null;
  settledAt: number;
  /** Times the event was written to a socket. */
  sends: number;
}

export type CoreNotice =
  | { type: 'status'; status: ClientStatus; previous: ClientStatus }
  | { type: 'welcome'; welcome: WelcomeInfo }
  /** Stored answers changed (an `answers` frame, or acks of answers). */
  | { type: 'answers' }
  /** The event is in the device's storage: `answer()` may resolve. */
  | { type: 'kept'; id: number; seq: number | null }
  /** The storage refused the event: `answer()` rejects. */
  | { type: 'keptFailed'; id: number; error: unknown }
  | { type: 'settled'; settled: Settled }
  | { type: 'err'; code: ErrCode; msg: string }
  /** The exam began finalizing (a `closed` frame, or a welcome saying so). */
  | { type: 'examClosed' }
  | { type: 'disconnect'; code: number; reason: string }
  /** A storage write failed for events already kept (a later write of them, or a removal). */
  | { type: 'storageError'; error: unknown };

export interface CoreEffects {
  /** Open a new socket to the gateway (closing any other). Report back with socketOpened / frame / socketClosed. */
  connect(): void;
  /** Close the current socket; the core already treats it as gone and ignores anything more from it. */
  disconnect(code: number, reason: string): void;
  send(text: string): void;
  /** Apply `write` atomically, after every earlier write; report back with persisted(writeId) or persistFailed. */
  persist(writeId: number, write: StoreWrite): void;
  notify(notice: CoreNotice): void;
}
