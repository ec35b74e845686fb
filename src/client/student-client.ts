// The Node student client (PROTOCOL.md section 3): hello, an outbox of unacked events resent
// above each welcome's lastSeq, reconnects with backoff. Used by tests and the load generator.

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import WebSocket from 'ws';
import { StudentClientError } from '../errors.js';
import type { EventKind } from '../events/answer-event.js';
import { encodeEvent } from '../protocol/client-frame.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { NackCode, ServerFrame } from '../protocol/server-frame.js';
import { deferred, type Deferred } from './deferred.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { fullJitterBackoff, type BackoffFn } from './reconnect-backoff.js';
import { openStudentSocket } from './student-socket.js';
import type { OutboxEvent, StudentClientEventMap, StudentClientOptions, StudentClientStats, WelcomeInfo } from './types.js';

export type { OutboxEvent, StudentClientEventMap, StudentClientOptions, StudentClientStats, WelcomeInfo } from './types.js';

const log = debuglog('untradex-client');

/** idle: connect() not called; connecting: socket opening or awaiting welcome; ready: welcomed; backoff: waiting to reconnect. */
export type StudentClientStatus = 'idle' | 'connecting' | 'ready' | 'backoff' | 'stopped';

type StopReason = Exclude<StudentClientError['reason'], 'not_welcomed'>;

export class StudentClient extends EventEmitter<StudentClientEventMap> {
  readonly stats: StudentClientStats = { acked: 0, nacked: 0, reconnects: 0, errors: 0 };

  readonly #url: string;
  readonly #token: string;
  readonly #handshakeTimeoutMs: number;
  readonly #localAddress: string | undefined;
  readonly #reconnects: boolean;
  readonly #backoff: BackoffFn;
  readonly #outbox = new Outbox();

  #status: StudentClientStatus = 'idle';
  #ws: WebSocket | null = null;
  #welcomed = false;
  #nextSeq = 1;
  #reconnectAttempt = 0;
  #resendAttempt = 0;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #resendTimer: NodeJS.Timeout | null = null;
  #connected: Deferred<WelcomeInfo> | null = null;
  #flushWaiters: Deferred<void>[] = [];
  #stopError: StudentClientError | null = null;
  #replacedEmitted = false;
  #closeWaiters: Array<() => void> = [];

  constructor(options: StudentClientOptions) {
    super();
    this.#url = options.url;
    this.#token = options.token;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.#localAddress = options.localAddress;
    this.#reconnects = options.reconnect !== false;
    // Busy / rate_limited resends use the same curve even when reconnecting is off.
    this.#backoff = fullJitterBackoff(options.reconnect === false ? {} : (options.reconnect ?? {}));
  }

  get status(): StudentClientStatus {
    return this.#status;
  }

  /** Unsettled events, lowest seq first. */
  get pendingCount(): number {
    return this.#outbox.size;
  }

  /** Resolves on the first welcome (the same promise on every call); rejects (StudentClientError) once the client has stopped. */
  connect(): Promise<WelcomeInfo> {
    if (this.#stopError !== null) return Promise.reject(this.#stopError);
    if (this.#connected === null) {
      this.#connected = deferred<WelcomeInfo>();
      this.#openSocket();
    }
    return this.#connected.promise;
  }

  /** Queues and sends an `open` event; returns its seq. `ts` defaults to Date.now(); null sends none. */
  open(ts?: number | null): number {
    return this.#enqueue('open', null, null, ts);
  }

  answer(question: string, value: string, ts?: number | null): number {
    return this.#enqueue('answer', question, value, ts);
  }

  submit(ts?: number | null): number {
    return this.#enqueue('submit', null, null, ts);
  }

  /** Resolves when every queued event is settled; rejects if the client stops first. */
  flushed(): Promise<void> {
    if (this.#outbox.size === 0) return Promise.resolve();
    if (this.#stopError !== null) return Promise.reject(this.#stopError);
    const waiter = deferred<void>();
    this.#flushWaiters.push(waiter);
    return waiter.promise;
  }

  /** Cuts the socket without a close handshake, as a network failure would; the client reconnects. */
  dropConnection(): void {
    this.#ws?.terminate();
  }

  /** Sends every unsettled event again now; the server acks duplicates without storing them. */
  resendUnacked(): void {
    if (this.#status !== 'ready') return;
    for (const entry of this.#outbox.pending()) this.#send(entry);
  }

  /** Stops reconnecting, closes the socket and resolves once it is closed. Unsettled events stay unsettled. */
  close(): Promise<void> {
    const ws = this.#ws;
    this.#stop('closed');
    if (ws === null) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  #enqueue(kind: EventKind, question: string | null, value: string | null, ts: number | null | undefined): number {
    if (!this.#welcomed) throw new StudentClientError('not_welcomed', 'call connect() and wait for the welcome before sending events');
    if (this.#stopError !== null) throw this.#stopError;
    const seq = this.#nextSeq++;
    const event: OutboxEvent = {
      seq,
      kind,
      question,
      value,
      clientTs: ts === undefined ? Date.now() : ts,
      firstSentAt: null,
      settledAt: null,
      sends: 0,
    };
    const entry: OutboxEntry = { event, frame: encodeEvent(event) };
    this.#outbox.push(entry);
    if (this.#status === 'ready') this.#send(entry);
    return seq;
  }

  #send(entry: OutboxEntry): void {
    const ws = this.#ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return;
    ws.send(entry.frame);
    entry.event.sends++;
    if (entry.event.firstSentAt === null) entry.event.firstSentAt = performance.now();
  }

  #setStatus(status: StudentClientStatus): void {
    if (this.#status === status) return;
    log('%s: %s -> %s', this.#url, this.#status, status);
    this.#status = status;
  }

  #openSocket(): void {
    this.#setStatus('connecting');
    const options = { url: this.#url, token: this.#token, handshakeTimeoutMs: this.#handshakeTimeoutMs, localAddress: this.#localAddress };
    // Frames and closes of a socket the client already gave up on are ignored.
    const ws: WebSocket = openStudentSocket(options, {
      frame: (frame) => {
        if (ws === this.#ws) this.#onFrame(frame);
      },
      badFrame: () => {
        this.stats.errors++;
        log('%s: ignoring a frame that is not of this protocol', this.#url);
      },
      error: (error) => {
        this.stats.errors++;
        log('%s: socket error %s', this.#url, error.message);
      },
      close: (code, reason) => this.#onClose(ws, code, reason),
    });
    this.#ws = ws;
  }

  #onFrame(frame: ServerFrame): void {
    switch (frame.t) {
      case 'welcome':
        return this.#onWelcome({ exam: frame.exam, student: frame.student, lastSeq: frame.lastSeq, state: frame.state, serverTime: frame.serverTime });
      case 'ack':
        return this.#settleUpTo(frame.seq);
      case 'nack':
        return this.#onNack(frame.seq, frame.code);
      case 'err':
        this.stats.errors++;
        this.emit('err', frame.code, frame.msg);
        if (frame.code === 'busy' || frame.code === 'rate_limited') this.#scheduleResend();
        else if (frame.code === 'replaced') this.#onReplaced();
        return;
      case 'closed':
        this.emit('closed');
        return;
      default: {
        const unreachable: never = frame;
        return unreachable;
      }
    }
  }

  #onWelcome(info: WelcomeInfo): void {
    // A welcome racing a close() or a replace must not bring a stopped client back to life.
    if (this.#status === 'stopped') return;
    this.#reconnectAttempt = 0;
    this.#resendAttempt = 0;
    // A fresh client starts above what the server holds; later welcomes only ever raise nextSeq,
    // so a seq is never reused even if another session of this student wrote meanwhile.
    this.#nextSeq = this.#welcomed ? Math.max(this.#nextSeq, info.lastSeq + 1) : info.lastSeq + 1;
    this.#welcomed = true;
    this.#setStatus('ready');
    this.#settleUpTo(info.lastSeq);
    this.resendUnacked();
    this.emit('welcome', info);
    this.#connected?.resolve(info);
  }

  #settleUpTo(seq: number): void {
    const settled = this.#outbox.settleUpTo(seq);
    if (settled.length === 0) return;
    this.#resendAttempt = 0;
    const now = performance.now();
    for (const { event } of settled) {
      event.settledAt = now;
      this.stats.acked++;
      this.emit('acked', event);
    }
    this.#checkFlushed();
  }

  #onNack(seq: number, code: NackCode): void {
    const entry = this.#outbox.remove(seq);
    if (entry === undefined) return;
    entry.event.settledAt = performance.now();
    this.stats.nacked++;
    this.emit('nacked', entry.event, code);
    this.#checkFlushed();
  }

  #onReplaced(): void {
    if (!this.#replacedEmitted) {
      this.#replacedEmitted = true;
      this.emit('replaced');
    }
    this.#stop('replaced');
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#clearTimer('resend');
    if (code === CloseCode.Replaced) this.#onReplaced();
    else if (code === CloseCode.BadToken) this.#stop('unauthorized');
    else if (!this.#reconnects) this.#stop('disconnected');
    else if (this.#status !== 'stopped') this.#scheduleReconnect();
    // Emitted after the decision, so a listener can read `status` to know whether a retry follows.
    this.emit('disconnect', code, reason);
    if (this.#status === 'stopped') for (const resolve of this.#closeWaiters.splice(0)) resolve();
  }

  #scheduleReconnect(): void {
    const delay = this.#backoff(this.#reconnectAttempt++);
    if (delay === null) {
      this.#stop('disconnected');
      return;
    }
    this.#setStatus('backoff');
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.stats.reconnects++;
      this.#openSocket();
    }, delay);
  }

  // After busy / rate_limited the triggering event was not stored: resend later, coalescing
  // every such err that arrives meanwhile into one resend.
  #scheduleResend(): void {
    if (this.#resendTimer !== null || this.#status === 'stopped') return;
    const delay = this.#backoff(this.#resendAttempt++) ?? 0;
    this.#resendTimer = setTimeout(() => {
      this.#resendTimer = null;
      this.resendUnacked();
    }, delay);
  }

  #checkFlushed(): void {
    if (this.#outbox.size !== 0) return;
    for (const waiter of this.#flushWaiters.splice(0)) waiter.resolve();
  }

  #stop(reason: StopReason): void {
    if (this.#status === 'stopped') return;
    this.#setStatus('stopped');
    this.#stopError = new StudentClientError(reason, STOP_MESSAGES[reason]);
    this.#clearTimer('reconnect');
    this.#clearTimer('resend');
    // Rejecting an already-resolved connect() is a no-op.
    this.#connected?.reject(this.#stopError);
    for (const waiter of this.#flushWaiters.splice(0)) waiter.reject(this.#stopError);
    const ws = this.#ws;
    if (ws !== null && ws.readyState !== WebSocket.CLOSING && ws.readyState !== WebSocket.CLOSED) ws.close(1000);
  }

  #clearTimer(which: 'reconnect' | 'resend'): void {
    clearTimeout((which === 'reconnect' ? this.#reconnectTimer : this.#resendTimer) ?? undefined);
    if (which === 'reconnect') this.#reconnectTimer = null;
    else this.#resendTimer = null;
  }
}

const STOP_MESSAGES: Record<StopReason, string> = {
  closed: 'the client was closed',
  unauthorized: 'the server refused the token (close 4401); retrying with the same token is pointless',
  replaced: 'another session took over this student (err replaced / close 4409)',
  disconnected: 'the connection was lost and reconnecting is off',
};
