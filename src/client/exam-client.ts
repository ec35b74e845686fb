// The exam client of docs/PROTOCOL.md section 7 over any socket and store: timers, promises and
// events around the client core. The browser and Node entry points give it their socket and storage.

import { StudentClientError, UntradexError } from '../errors.js';
import { isValidId, type EventKind } from '../events/answer-event.js';
import { encodeEvent } from '../protocol/client-frame.js';
import { StandardCloseCode } from '../protocol/close-codes.js';
import { decodeServerFrame } from '../protocol/server-frame.js';
import { ClientCore } from './core/client-core.js';
import { FINAL_STATUSES as FINAL, type ClientStatus, type CoreNotice, type Settled, type WelcomeInfo } from './core/core-io.js';
import type { PendingEvent, StoreWrite } from './core/kept-event.js';
import { MAX_SEND_WINDOW } from './core/send-window.js';
import { CoreTimer } from './core-timer.js';
import { deferred, type Deferred } from './deferred.js';
import { equalJitterBackoff, fullJitterBackoff } from './reconnect-backoff.js';
import { StoreSupersededError, type OutboxStore } from './storage/outbox-store.js';
import { readTokenClaims } from './token-claims.js';

export type { ClientStatus, Settled, WelcomeInfo } from './core/core-io.js';
export type { PendingEvent } from './core/kept-event.js';

/** What a shell's socket must do: the browser's WebSocket and `ws` both fit behind it. */
export interface ClientSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
}

export interface ClientSocketHandlers {
  open(): void;
  /** A text frame; null for a binary one. */
  message(text: string | null): void;
  close(code: number, reason: string): void;
}

export interface ClientEnvironment {
  openSocket(url: string, handlers: ClientSocketHandlers): ClientSocket;
  /** The store to keep events in; may throw or reject if the device offers none, and then memory is used. */
  openStore(name: string): OutboxStore;
  /** A store that always works (memory), used when openStore fails. */
  fallbackStore(name: string): OutboxStore;
  /** A monotonic clock in ms, for timers. */
  now(): number;
}

export interface ExamClientOptions {
  /** `wss://host/ws` (or `ws://` on a plain-HTTP gateway). */
  url: string;
  token: string;
  /** Unacked events on the wire at most; default 16, at most 64. */
  window?: number;
  /** Reconnect backoff: capped exponential with full jitter; default `{ baseMs: 250, maxMs: 10000 }`. `false`: never reconnect. */
  reconnect?: { baseMs?: number; maxMs?: number } | false;
  /** From opening a socket to the welcome; default 30000 (a start spike can delay welcomes for long). */
  welcomeTimeoutMs?: number;
  /** With events awaiting acks, a connection silent this long is replaced by a new one; default 30000. */
  silenceTimeoutMs?: number;
  /** The gateway's `gateway.maxValueBytes`: longer answers are refused by answer(); default 2048. */
  maxValueBytes?: number;
  /**
   * The gateway's `gateway.maxFrameBytes`; default 4096. JSON escaping can make a value within
   * maxValueBytes need a larger frame (a quote takes two bytes, a control character six): such an
   * answer is refused by answer(), since the gateway would close every connection that sent it.
   */
  maxFrameBytes?: number;
}

export const EXAM_CLIENT_DEFAULTS = {
  window: 16,
  reconnect: { baseMs: 250, maxMs: 10_000 },
  /** After `err rate_limited`: at least a quarter second, doubling while refusals continue. */
  resend: { baseMs: 500, maxMs: 8_000 },
  welcomeTimeoutMs: 30_000,
  answersTimeoutMs: 5_000,
  silenceTimeoutMs: 30_000,
  maxValueBytes: 2048,
  maxFrameBytes: 4096,
} as const;

/** The largest seq and client time a frame can carry: answer() sizes frames for the worst case. */
const WORST_CASE_SEQ = 2 ** 53 - 1;
const WORST_CASE_TS = 253402300799999;
const utf8 = new TextEncoder();

export class ExamClientBase extends EventTarget {
  readonly #env: ClientEnvironment;
  readonly #url: string;
  readonly #storeName: string;
  readonly #maxValueBytes: number;
  readonly #maxFrameBytes: number;
  readonly #core: ClientCore;
  #store: OutboxStore | null = null;
  readonly #ready: Promise<void>;
  #socket: ClientSocket | null = null;
  /** Sockets opened and not yet reported closed: close() waits for them. */
  readonly #liveSockets = new Set<ClientSocket>();
  readonly #coreTimer: CoreTimer;
  readonly #welcomed = deferred<WelcomeInfo>();
  readonly #keeping = new Map<number, Deferred<number | null>>();
  #flushWaiters: Deferred<void>[] = [];
  #closeWaiters: Array<() => void> = [];
  #writes: Promise<void> = Promise.resolve();

  constructor(options: ExamClientOptions, env: ClientEnvironment) {
    super();
    if (typeof options?.url !== 'string' || options.url === '') throw new StudentClientError('closed', 'options.url is required: the gateway\'s WebSocket URL, e.g. wss://exams.example.edu/ws');
    if (typeof options.token !== 'string' || options.token === '') throw new StudentClientError('unauthorized', 'options.token is required: the student token from the URL fragment or your LMS');
    this.#env = env;
    this.#url = options.url;
    this.#maxValueBytes = options.maxValueBytes ?? EXAM_CLIENT_DEFAULTS.maxValueBytes;
    this.#maxFrameBytes = options.maxFrameBytes ?? EXAM_CLIENT_DEFAULTS.maxFrameBytes;
    const claims = readTokenClaims(options.token);
    this.#storeName = claims === null ? `untradex-outbox:token:${options.token.slice(-16)}` : `untradex-outbox:${claims.exam}:${claims.student}`;
    const reconnect = options.reconnect === false ? null : fullJitterBackoff({ ...EXAM_CLIENT_DEFAULTS.reconnect, ...(options.reconnect ?? {}) });
    this.#core = new ClientCore(
      {
        token: options.token,
        window: Math.min(MAX_SEND_WINDOW, options.window ?? EXAM_CLIENT_DEFAULTS.window),
        reconnect,
        resendDelay: equalJitterBackoff(EXAM_CLIENT_DEFAULTS.resend),
        welcomeTimeoutMs: options.welcomeTimeoutMs ?? EXAM_CLIENT_DEFAULTS.welcomeTimeoutMs,
        answersTimeoutMs: EXAM_CLIENT_DEFAULTS.answersTimeoutMs,
        silenceTimeoutMs: options.silenceTimeoutMs ?? EXAM_CLIENT_DEFAULTS.silenceTimeoutMs,
        resume: true,
        stopWhenExamClosed: true,
        syncStorage: false,
      },
      {
        connect: () => this.#connect(),
        disconnect: (code, reason) => this.#disconnect(code, reason),
        send: (text) => this.#socket?.send(text),
        persist: (writeId, write) => this.#persist(writeId, write),
        notify: (notice) => this.#onNotice(notice),
      },
    );
    this.#coreTimer = new CoreTimer(this.#core, () => this.#env.now());
    this.#ready = this.#openStore();
  }

  /** Connects, and reconnects with backoff until close() or a final status. */
  start(): void {
    void this.#ready.then(() => this.#coreTimer.drive(() => this.#core.start(this.#env.now())));
  }

  /** The first welcome; rejects if the client reaches a final status before one. */
  get welcomed(): Promise<WelcomeInfo> {
    return this.#welcomed.promise;
  }

  get status(): ClientStatus {
    return this.#core.status;
  }

  /** `indexeddb` or `memory` (null until the store is open). */
  get storage(): OutboxStore['kind'] | null {
    return this.#store?.kind ?? null;
  }

  /** Events kept on this device and not yet acked or nacked, in the order they are sent. */
  get pending(): PendingEvent[] {
    return this.#core.pending;
  }

  /** Question -> value: the stored answers (resume, acks) overlaid with kept ones. */
  get answers(): Map<string, string> {
    return this.#core.answers;
  }

  /** The student's submit is known to be stored. */
  get submitted(): boolean {
    return this.#core.submitted;
  }

  /** Resolves with the seq (null before this device's first welcome) once the answer is kept on the device. */
  answer(question: string, value: string): Promise<number | null> {
    if (!isValidId(question)) return Promise.reject(new StudentClientError('bad_event', `question id ${JSON.stringify(question)} must be 1 to 64 of A-Z a-z 0-9 _ . -`));
    if (typeof value !== 'string' || value.includes('\u0000')) return Promise.reject(new StudentClientError('bad_event', 'an answer value is a string without U+0000'));
    const bytes = utf8.encode(value).length;
    if (bytes > this.#maxValueBytes) {
      return Promise.reject(new StudentClientError('bad_event', `this answer is ${bytes} bytes; the exam takes at most ${this.#maxValueBytes}: shorten it`));
    }
    const frame = encodeEvent({ seq: WORST_CASE_SEQ, kind: 'answer', question, value, clientTs: WORST_CASE_TS });
    if (utf8.encode(frame).length > this.#maxFrameBytes) {
      return Promise.reject(
        new StudentClientError('bad_event', `this answer needs a ${utf8.encode(frame).length}-byte frame once quotes and control characters are escaped; the gateway takes at most ${this.#maxFrameBytes}: shorten it`),
      );
    }
    return this.#add('answer', question, value);
  }

  open(): Promise<number | null> {
    return this.#add('open', null, null);
  }

  submit(): Promise<number | null> {
    return this.#add('submit', null, null);
  }

  /** Resolves once every kept event is acked or nacked; rejects if the client stops first. */
  async flushed(): Promise<void> {
    await this.#ready;
    if (this.#core.pendingCount === 0) return;
    if (this.#isStopped) throw this.#stopError();
    const waiter = deferred<void>();
    this.#flushWaiters.push(waiter);
    return waiter.promise;
  }

  /** Stops (status `stopped`); kept events stay on the device for the next client. */
  async close(): Promise<void> {
    await this.#ready;
    this.#coreTimer.drive(() => this.#core.close(this.#env.now()));
    if (this.#liveSockets.size > 0) await new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    this.#coreTimer.cancel();
    await this.#writes;
    await this.#store?.close();
  }

  /** Skips the wait of a reconnect backoff (the browser says it is online again). */
  protected reconnectNow(): void {
    this.#coreTimer.drive(() => this.#core.reconnectNow(this.#env.now()));
  }

  protected get socket(): ClientSocket | null {
    return this.#socket;
  }

  async #add(kind: EventKind, question: string | null, value: string | null): Promise<number | null> {
    await this.#ready;
    const wallClock = Date.now();
    let id = 0;
    this.#coreTimer.drive(() => {
      id = this.#core.add(kind, question, value, wallClock, this.#env.now()).id;
    });
    const kept = deferred<number | null>();
    this.#keeping.set(id, kept);
    return kept.promise;
  }

  async #openStore(): Promise<void> {
    let store: OutboxStore;
    let state;
    try {
      store = this.#env.openStore(this.#storeName);
      state = await store.open();
    } catch {
      // No IndexedDB here (a locked-down browser, some private modes): keep in memory, and say so.
      store = this.#env.fallbackStore(this.#storeName);
      state = await store.open();
    }
    this.#store = store;
    this.#coreTimer.drive(() => this.#core.restore(state));
    // What this device kept from an earlier visit shows at once, before any server answers.
    this.dispatchEvent(new CustomEvent('answers', { detail: { answers: this.#core.answers, submitted: this.#core.submitted } }));
  }

  #persist(writeId: number, write: StoreWrite): void {
    const store = this.#store;
    this.#writes = this.#writes.then(async () => {
      try {
        await store!.write(write);
        this.#coreTimer.drive(() => this.#core.persisted(writeId, this.#env.now()));
      } catch (error) {
        this.#coreTimer.drive(() => this.#core.persistFailed(writeId, error, error instanceof StoreSupersededError, this.#env.now()));
      }
    });
  }

  #connect(): void {
    this.#socket?.close(StandardCloseCode.Normal, 'reconnecting');
    const socket: ClientSocket = this.#env.openSocket(this.#url, {
      open: () => {
        if (socket === this.#socket) this.#coreTimer.drive(() => this.#core.socketOpened(this.#env.now()));
      },
      message: (text) => {
        if (socket !== this.#socket) return;
        const frame = text === null ? null : decodeServerFrame(text);
        if (frame !== null) this.#coreTimer.drive(() => this.#core.frame(frame, this.#env.now()));
      },
      close: (code, reason) => {
        this.#liveSockets.delete(socket);
        if (socket === this.#socket) {
          this.#socket = null;
          this.#coreTimer.drive(() => this.#core.socketClosed(code, reason, this.#env.now()));
        }
        if (this.#liveSockets.size === 0) for (const resolve of this.#closeWaiters.splice(0)) resolve();
      },
    });
    this.#socket = socket;
    this.#liveSockets.add(socket);
  }

  #disconnect(code: number, reason: string): void {
    // The core no longer listens to this socket; close() still waits for its close event.
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(code, reason);
  }

  #onNotice(notice: CoreNotice): void {
    switch (notice.type) {
      case 'status':
        if (FINAL.has(notice.status)) this.#onStopped();
        this.dispatchEvent(new CustomEvent('status', { detail: { status: notice.status, previous: notice.previous } }));
        return;
      case 'welcome':
        this.#welcomed.resolve(notice.welcome);
        this.dispatchEvent(new CustomEvent('welcome', { detail: notice.welcome }));
        return;
      case 'answers':
        this.dispatchEvent(new CustomEvent('answers', { detail: { answers: this.#core.answers, submitted: this.#core.submitted } }));
        return;
      case 'kept':
        this.#keeping.get(notice.id)?.resolve(notice.seq);
        this.#keeping.delete(notice.id);
        return;
      case 'keptFailed': {
        const cause = notice.error;
        const error = cause instanceof UntradexError ? cause : new UntradexError('UX_ERR_CLIENT_STORAGE', 'the answer could not be kept on this device; try again', { cause });
        this.#keeping.get(notice.id)?.reject(error);
        this.#keeping.delete(notice.id);
        return;
      }
      case 'settled':
        this.dispatchEvent(new CustomEvent('settled', { detail: settledDetail(notice.settled) }));
        if (this.#core.pendingCount === 0) for (const waiter of this.#flushWaiters.splice(0)) waiter.resolve();
        return;
      case 'err':
        this.dispatchEvent(new CustomEvent('err', { detail: { code: notice.code, msg: notice.msg } }));
        return;
      case 'examClosed':
        this.dispatchEvent(new CustomEvent('closed'));
        return;
      case 'disconnect':
        this.dispatchEvent(new CustomEvent('disconnect', { detail: { code: notice.code, reason: notice.reason } }));
        return;
      case 'storageError':
        this.dispatchEvent(new CustomEvent('storageerror', { detail: { error: notice.error } }));
        return;
      default: {
        const unreachable: never = notice;
        return unreachable;
      }
    }
  }

  get #isStopped(): boolean {
    return FINAL.has(this.#core.status);
  }

  #stopError(): StudentClientError {
    const status = this.#core.status;
    if (status === 'replaced') return new StudentClientError('replaced', 'this exam is open in another tab or device: this client stopped');
    if (status === 'unauthorized') return new StudentClientError('unauthorized', 'the server refused the token; ask for a new one');
    if (status === 'closed') return new StudentClientError('exam_closed', 'the exam is closed');
    return new StudentClientError('closed', 'the client was stopped');
  }

  #onStopped(): void {
    const error = this.#stopError();
    this.#welcomed.reject(error);
    if (this.#core.pendingCount > 0) for (const waiter of this.#flushWaiters.splice(0)) waiter.reject(error);
    else for (const waiter of this.#flushWaiters.splice(0)) waiter.resolve();
  }
}

function settledDetail(settled: Settled): { seq: number; result: Settled['result']; code: Settled['code']; kind: EventKind; question: string | null; value: string | null } {
  return { seq: settled.seq, result: settled.result, code: settled.code, kind: settled.event.kind, question: settled.event.question, value: settled.event.value };
}
