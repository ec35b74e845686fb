// Public types of the student client library: its options, what a welcome tells it, the
// events it keeps until acked, and the typed map of the events it emits.

import type { EventKind } from '../events/answer-event.js';
import type { ErrCode, NackCode } from '../protocol/server-frame.js';
import type { WelcomeInfo } from './core/core-io.js';

export interface StudentClientOptions {
  /** `ws://host:port/ws` */
  url: string;
  token: string;
  /** Reconnect with capped exponential backoff and full jitter; `false` never reconnects. Default `{ baseMs: 100, maxMs: 5000 }`. */
  reconnect?: { baseMs?: number; maxMs?: number } | false;
  /** Local address to bind the socket to (load generators spread over 127.0.0.x). Default: the OS picks. */
  localAddress?: string;
  /** ws's opening-handshake timeout per attempt. perMessageDeflate is always off. Default 10000. */
  handshakeTimeoutMs?: number;
  /** Unacked events on the wire at most (1 to 64). Default 64. */
  window?: number;
  /**
   * Ask for the stored answers in every hello and settle kept events by them (docs/PROTOCOL.md section 7,
   * rule 2). Default false: this client keeps its outbox in memory, so only one device writes.
   */
  resume?: boolean;
}

export type { WelcomeInfo } from './core/core-io.js';

/** One event the client sent or will send; it stays in the outbox until an ack or nack settles it. */
export interface OutboxEvent {
  readonly seq: number;
  readonly kind: EventKind;
  /** The question id for `answer`, else null. */
  readonly question: string | null;
  /** The value for `answer`, else null. */
  readonly value: string | null;
  /** The `ts` sent, or null when the event carries none. */
  readonly clientTs: number | null;
  /** `performance.now()` when the event was first written to a socket; null until then. */
  firstSentAt: number | null;
  /** `performance.now()` when an ack, a welcome's lastSeq or a nack settled it; null until then. */
  settledAt: number | null;
  /** How many times it was written to a socket (resends and duplicates included). */
  sends: number;
}

export interface StudentClientStats {
  /** Events settled as durable: by an ack, or by a welcome's lastSeq. */
  acked: number;
  nacked: number;
  /** Reconnect attempts started after a connection was lost. */
  reconnects: number;
  /** `err` frames received plus socket errors. */
  errors: number;
}

/** The events a StudentClient emits, with their arguments. */
export interface StudentClientEventMap {
  welcome: [info: WelcomeInfo];
  /** Once per event, whether a cumulative ack or a welcome's lastSeq covered it. */
  acked: [event: OutboxEvent];
  nacked: [event: OutboxEvent, code: NackCode];
  err: [code: ErrCode, msg: string];
  /** The exam began finalizing: later new events get `nack exam_closed`. */
  closed: [];
  /** Another session took this student over; the client has stopped. */
  replaced: [];
  /** The socket closed, for any reason (1006 when it was cut). */
  disconnect: [code: number, reason: string];
}
