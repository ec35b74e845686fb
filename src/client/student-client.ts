// The Node student client used by tests and the load generator: the client core on `ws`, with
// the outbox in memory and a synchronous API (an event gets its seq at once; connect() first).

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import type WebSocket from 'ws';
import { StudentClientError } from '../errors.js';
import type { EventKind } from '../events/answer-event.js';
import { FIRST_PRIVATE_CLOSE_CODE, StandardCloseCode } from '../protocol/close-codes.js';
import { ClientCore } from './core/client-core.js';
import type { ClientStatus, CoreNotice, Settled } from './core/core-io.js';
import { MAX_SEND_WINDOW } from './core/send-window.js';
import { CoreTimer } from './core-timer.js';
import { deferred, type Deferred } from './deferred.js';
import { equalJitterBackoff, fullJitterBackoff } from './reconnect-backoff.js';
import { MemoryStore } from './storage/memory-store.js';
import { openStudentSocket } from './student-socket.js';
import type { OutboxEvent, StudentClientEventMap, StudentClientOptions, StudentClientStats, WelcomeInfo } from './types.js';

export type { OutboxEvent, StudentClientEventMap, StudentClientOptions, StudentClientStats, WelcomeInfo } from './types.js';

const log = debuglog('untradex-client');

/** idle: connect() not called; connecting: socket opening or awaiting welcome; ready: welcomed; backoff: waiting to reconnect. */
export type StudentClientStatus = 'idle' | 'connecting' | 'ready' | 'backoff' | 'stopped';

type StopReason = 'closed' | 'unauthorized' | 'replaced' | 'disconnected' | 'exam_closed';

export class StudentClient extends EventEmitter<StudentClientEventMap> {
  readonly stats: StudentClientStats = { acked: 0, nacked: 0, reconnects: 0, errors: 0 };

  readonly #url: string;
  readonly #options: StudentClientOptions;
  readonly #core: ClientCore;
  readonly #store: MemoryStore;
  #ws: WebSocket | null = null;
  readonly #liveSockets = new Set<WebSocket>();
  #connected: Deferred<WelcomeInfo> | null = null;
  #flushWaiters: Deferred<void>[] = [];
  #closeWaiters: Array<() => void> = [];
  #stopReason: StopReason | null = null;
  readonly #coreTimer: CoreTimer;
  #everConnected = false;
  #socketsOpened = 0;

  constructor(options: StudentClientOptions) {
    super();
    this.#url = options.url;
    this.#options = options;
    this.#store = new MemoryStore('node');
    void this.#store.open();
    this.#core = new ClientCore(
      {
        token: options.token,
        window: Math.min(MAX_SEND_WINDOW, options.window ?? MAX_SEND_WINDOW),
        reconnect: options.reconnect === false ? null : fullJitterBackoff(options.reconnect ?? {}),
        resendDelay: equalJitterBackoff({ baseMs: 200, maxMs: 5_000 }),
        welcomeTimeoutMs: null,
        answersTimeoutMs: 5_000,
        silenceTimeoutMs: null,
        resume: options.resume ?? false,
        stopWhenExamClosed: false,
        syncStorage: true,
      },
      {
        connect: () => this.#openSocket(),
        disconnect: (code) => {
          const ws = this.#ws;
          this.#ws = null;
          // A browser-style socket may only send 1000 or a private code; anything else leaves as 1000.
          ws?.close(code >= FIRST_PRIVATE_CLOSE_CODE || code === StandardCloseCode.Normal ? code : StandardCloseCode.Normal);
        },
        send: (text) => {
          if (this.#ws?.readyState === 1) this.#ws.send(text);
        },
        persist: (_writeId, write) => this.#store.writeNow(write),
        notify: (notice) => this.#onNotice(notice),
      },
    );
    this.#coreTimer = new CoreTimer(this.#core, () => performance.now());
  }

  get status(): StudentClientStatus {
    if (!this.#everConnected) return 'idle';
    return STATUS_OF[this.#core.status];
  }

  /** Unsettled events. */
  get pendingCount(): number {
    return this.#core.pendingCount;
  }

  /** Resolves on the first welcome (the same promise on every call); rejects (StudentClientError) once the client has stopped. */
  connect(): Promise<WelcomeInfo> {
    if (this.#stopReason !== null) return Promise.reject(this.#stopError());
    if (this.#connected === null) {
      this.#connected = deferred<WelcomeInfo>();
      if (this.#stopReason !== null) this.#connected.reject(this.#stopError());
      this.#everConnected = true;
      this.#coreTimer.drive(() => this.#core.start(performance.now()));
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
    if (this.#core.pendingCount === 0) return Promise.resolve();
    if (this.#stopReason !== null) return Promise.reject(this.#stopError());
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
    this.#coreTimer.drive(() => this.#core.resendAll(performance.now()));
  }

  /** Stops reconnecting, closes the socket and resolves once it is closed. Unsettled events stay unsettled. */
  close(): Promise<void> {
    this.#stopReason ??= 'closed';
    this.#coreTimer.drive(() => this.#core.close(performance.now()));
    this.#coreTimer.cancel();
    if (this.#liveSockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  #enqueue(kind: EventKind, question: string | null, value: string | null, ts: number | null | undefined): number {
    if (this.#stopReason !== null) throw this.#stopError();
    if (this.#core.welcome === null) throw new StudentClientError('not_welcomed', 'call connect() and wait for the welcome before sending events');
    let seq: number | null = null;
    this.#coreTimer.drive(() => {
      seq = this.#core.add(kind, question, value, ts === undefined ? Date.now() : ts, performance.now()).seq;
    });
    return seq!;
  }

  #openSocket(): void {
    if (this.#socketsOpened++ > 0) this.stats.reconnects++;
    const options = { url: this.#url, token: this.#options.token, handshakeTimeoutMs: this.#options.handshakeTimeoutMs ?? 10_000, localAddress: this.#options.localAddress };
    const ws: WebSocket = openStudentSocket(options, {
      open: () => {
        if (ws === this.#ws) this.#coreTimer.drive(() => this.#core.socketOpened(performance.now()));
      },
      frame: (frame) => {
        if (ws === this.#ws) this.#coreTimer.drive(() => this.#core.frame(frame, performance.now()));
      },
      badFrame: () => {
        this.stats.errors++;
        log('%s: ignoring a frame that is not of this protocol', this.#url);
      },
      error: (error) => {
        this.stats.errors++;
        log('%s: socket error %s', this.#url, error.message);
      },
      close: (code, reason) => {
        this.#liveSockets.delete(ws);
        if (ws === this.#ws) {
          this.#ws = null;
          this.#coreTimer.drive(() => this.#core.socketClosed(code, reason, performance.now()));
        } else if (this.#stopReason !== null) {
          // The core let go of this socket when it stopped (err replaced, unauthorized); its close still tells how it ended.
          this.emit('disconnect', code, reason);
        }
        if (this.#liveSockets.size === 0 && this.#stopReason !== null) for (const resolve of this.#closeWaiters.splice(0)) resolve();
      },
    });
    this.#ws = ws;
    this.#liveSockets.add(ws);
  }

  #onNotice(notice: CoreNotice): void {
    switch (notice.type) {
      case 'status':
        log('%s: %s -> %s', this.#url, notice.previous, notice.status);
        if (notice.status === 'replaced' || notice.status === 'unauthorized' || notice.status === 'stopped' || notice.status === 'closed') this.#onStopped(notice.status);
        return;
      case 'welcome':
        this.emit('welcome', notice.welcome);
        this.#connected?.resolve(notice.welcome);
        return;
      case 'settled':
        return this.#onSettled(notice.settled);
      case 'err':
        this.stats.errors++;
        this.emit('err', notice.code, notice.msg);
        return;
      case 'examClosed':
        this.emit('closed');
        return;
      case 'disconnect':
        this.emit('disconnect', notice.code, notice.reason);
        return;
      case 'answers':
      case 'kept':
      case 'keptFailed':
      case 'storageError':
        return;
      default: {
        const unreachable: never = notice;
        return unreachable;
      }
    }
  }

  #onSettled(settled: Settled): void {
    const event: OutboxEvent = {
      seq: settled.seq,
      kind: settled.event.kind,
      question: settled.event.question,
      value: settled.event.value,
      clientTs: settled.event.clientTs,
      firstSentAt: settled.firstSentAt,
      settledAt: settled.settledAt,
      sends: settled.sends,
    };
    if (settled.result === 'ack') {
      this.stats.acked++;
      this.emit('acked', event);
    } else {
      this.stats.nacked++;
      this.emit('nacked', event, settled.code === 'superseded' || settled.code === null ? 'bad_event' : settled.code);
    }
    if (this.#core.pendingCount === 0) for (const waiter of this.#flushWaiters.splice(0)) waiter.resolve();
  }

  #onStopped(status: 'closed' | 'replaced' | 'unauthorized' | 'stopped'): void {
    // The exam closing stops the core once everything is settled; the Node client stays usable for acks of resends.
    const reason: StopReason = status === 'stopped' ? (this.#stopReason ?? 'disconnected') : status === 'closed' ? 'exam_closed' : status;
    this.#stopReason ??= reason;
    if (reason === 'replaced') this.emit('replaced');
    const error = this.#stopError();
    this.#connected?.reject(error);
    for (const waiter of this.#flushWaiters.splice(0)) waiter.reject(error);
    if (this.#liveSockets.size === 0) for (const resolve of this.#closeWaiters.splice(0)) resolve();
  }

  #stopError(): StudentClientError {
    const reason = this.#stopReason ?? 'closed';
    return new StudentClientError(reason, STOP_MESSAGES[reason]);
  }
}

const STATUS_OF: Record<ClientStatus, StudentClientStatus> = {
  connecting: 'connecting',
  online: 'ready',
  offline: 'backoff',
  closed: 'stopped',
  replaced: 'stopped',
  unauthorized: 'stopped',
  stopped: 'stopped',
};

const STOP_MESSAGES: Record<StopReason, string> = {
  closed: 'the client was closed',
  unauthorized: 'the server refused the token (close 4401); retrying with the same token is pointless',
  replaced: 'another session took over this student (err replaced / close 4409)',
  disconnected: 'the connection was lost and reconnecting is off',
  exam_closed: 'the exam is closed and every event of this client is settled',
};
