// The client's link to the gateway as a state machine (docs/PROTOCOL.md section 3): socket opening,
// hello sent, welcomed and awaiting `answers`, online; with the welcome, answers and silence deadlines and the reconnect backoff.

import type { BackoffFn } from '../reconnect-backoff.js';

/** Where the current connection is: none, socket opening, hello sent, welcomed and awaiting `answers`, online. */
export type LinkState = 'none' | 'opening' | 'hello' | 'resuming' | 'online';

export interface LinkOptions {
  /** Delay before reconnect attempt n, or null to give up; null: never reconnect. */
  reconnect: BackoffFn | null;
  /** From opening a socket to being online; null: wait as long as the socket stays open. */
  welcomeTimeoutMs: number | null;
  /** How long to wait for the `answers` frame after a welcome before going on without it. */
  answersTimeoutMs: number;
  /** With events awaiting acks, a connection that says nothing this long is taken for dead. */
  silenceTimeoutMs: number | null;
}

export class Link {
  readonly #options: LinkOptions;
  #state: LinkState = 'none';
  /** Numbers the connections, so an ack is only taken for events sent on the one it came on. */
  #conn = 0;
  #reconnectAttempt = 0;
  #reconnectAt: number | null = null;
  #welcomeDeadline: number | null = null;
  #answersDeadline: number | null = null;
  #silentSince: number | null = null;

  constructor(options: LinkOptions) {
    this.#options = options;
  }

  get state(): LinkState {
    return this.#state;
  }

  get conn(): number {
    return this.#conn;
  }

  /** The earliest time one of the link's timers is due, or null. */
  get nextDeadline(): number | null {
    const times = [this.#reconnectAt, this.#welcomeDeadline, this.#answersDeadline, this.#silenceDeadline].filter((time): time is number => time !== null);
    return times.length === 0 ? null : Math.min(...times);
  }

  get #silenceDeadline(): number | null {
    return this.#silentSince === null || this.#options.silenceTimeoutMs === null ? null : this.#silentSince + this.#options.silenceTimeoutMs;
  }

  /** A new socket is being opened: a new connection number, and the welcome deadline starts. */
  open(now: number): void {
    this.#conn++;
    this.#state = 'opening';
    this.#welcomeDeadline = this.#options.welcomeTimeoutMs === null ? null : now + this.#options.welcomeTimeoutMs;
  }

  /** The socket opened: true if the hello is to be sent now. */
  opened(): boolean {
    if (this.#state !== 'opening') return false;
    this.#state = 'hello';
    return true;
  }

  /** A frame came: the silence clock restarts while events await acks, and stops when none do. */
  heard(now: number, awaiting: boolean): void {
    this.#silentSince = awaiting ? now : null;
  }

  /** An event went out: the silence clock runs from the first unanswered send. */
  sent(now: number): void {
    this.#silentSince ??= now;
  }

  /** A welcome after the hello: true if taken; `resume`: wait (bounded) for the `answers` frame. */
  welcomed(now: number, resume: boolean): boolean {
    if (this.#state !== 'hello') return false;
    this.#state = 'resuming';
    if (resume) this.#answersDeadline = now + this.#options.answersTimeoutMs;
    return true;
  }

  /** Resumed: online, and the reconnect backoff starts over. */
  online(): void {
    this.#state = 'online';
    this.#welcomeDeadline = null;
    this.#answersDeadline = null;
    this.#reconnectAttempt = 0;
  }

  /** The socket is gone (or given up on): no timers of its own run any more. */
  drop(): void {
    this.#state = 'none';
    this.#welcomeDeadline = null;
    this.#answersDeadline = null;
    this.#silentSince = null;
  }

  /** Plans the next attempt from the backoff; false if it says to give up. */
  scheduleReconnect(now: number): boolean {
    const delay = this.#options.reconnect === null ? null : this.#options.reconnect(this.#reconnectAttempt++);
    if (delay === null) return false;
    this.#reconnectAt = now + delay;
    return true;
  }

  cancelReconnect(): void {
    this.#reconnectAt = null;
  }

  /** Cuts a planned backoff short; false if none is planned. */
  reconnectNow(now: number): boolean {
    if (this.#reconnectAt === null) return false;
    this.#reconnectAt = now;
    return true;
  }

  /** True once, when the planned reconnect is due. */
  reconnectDue(now: number): boolean {
    if (this.#reconnectAt === null || now < this.#reconnectAt) return false;
    this.#reconnectAt = null;
    return true;
  }

  welcomeOverdue(now: number): boolean {
    return this.#welcomeDeadline !== null && now >= this.#welcomeDeadline;
  }

  answersOverdue(now: number): boolean {
    return this.#answersDeadline !== null && now >= this.#answersDeadline;
  }

  silenceOverdue(now: number): boolean {
    const deadline = this.#silenceDeadline;
    return deadline !== null && now >= deadline;
  }
}
