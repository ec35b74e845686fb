// The student client's protocol engine (docs/PROTOCOL.md sections 3 and 7), with no I/O of its own:
// the shell feeds it socket events, frames, storage completions and the time; it answers with effects.

import { StudentClientError } from '../../errors.js';
import type { EventKind } from '../../events/answer-event.js';
import { encodeEvent, encodeHello } from '../../protocol/client-frame.js';
import { CloseCode, StandardCloseCode } from '../../protocol/close-codes.js';
import type { AnswersFrame, NackCode, ServerFrame, StoredAnswer } from '../../protocol/server-frame.js';
import type { BackoffFn } from '../reconnect-backoff.js';
import { FINAL_STATUSES, type ClientStatus, type CoreEffects, type CoreNotice, type SettleCode, type WelcomeInfo } from './core-io.js';
import type { KeptEvent, KeptMeta, KeptState, PendingEvent, StoreWrite } from './kept-event.js';
import { settleResume } from './resume-settlement.js';
import { MAX_SEND_WINDOW, SendWindow } from './send-window.js';

export interface CoreOptions {
  token: string;
  /** Unacked events on the wire at most (1 to MAX_SEND_WINDOW). */
  window: number;
  /** Delay before reconnect attempt n, or null to give up; null: never reconnect. */
  reconnect: BackoffFn | null;
  /** Delay before resending after `err rate_limited` / `busy` number n in a row. */
  resendDelay: BackoffFn;
  /** From opening a socket to being online; null: wait as long as the socket stays open. */
  welcomeTimeoutMs: number | null;
  /** How long to wait for the `answers` frame after a welcome before going on without it. */
  answersTimeoutMs: number;
  /** With events awaiting acks, a connection that says nothing this long is taken for dead. */
  silenceTimeoutMs: number | null;
  /** Ask for the stored answers on every hello (rule 4). */
  resume: boolean;
  /** The storage applies writes before persist() returns: events are kept at once. */
  syncStorage: boolean;
  /**
   * Stop (status `closed`) once the exam is closed and every kept event is settled (section 7,
   * rule 5). Off for the Node test client, which goes on sending so tests can see the nacks.
   */
  stopWhenExamClosed: boolean;
}

/** One kept event and what this client knows of its sending. */
interface Entry {
  event: KeptEvent;
  /** The last write that holds the event as it is now; sendable once it is persisted. */
  writeId: number;
  /** The connection it was last sent on (0: never). */
  sentOn: number;
  sends: number;
  firstSentAt: number | null;
}

/** Where the current connection is: none, socket opening, hello sent, welcomed and awaiting `answers`, online. */
type Link = 'none' | 'opening' | 'hello' | 'resuming' | 'online';

export class ClientCore {
  readonly #options: CoreOptions;
  readonly #effects: CoreEffects;
  readonly #window: SendWindow;
  /** Numbered events by seq, then unnumbered ones by id: the order they are sent in. */
  #entries: Entry[] = [];
  /** entries[0, sendIndex) are on the wire of the current connection. */
  #sendIndex = 0;
  #meta: Omit<KeptMeta, 'answers'> & { answers: Map<string, StoredAnswer> } = { highestSeq: 0, welcomed: false, nextId: 1, answers: new Map(), submitted: false };
  #status: ClientStatus = 'connecting';
  #started = false;
  #link: Link = 'none';
  #conn = 0;
  #welcome: WelcomeInfo | null = null;
  #examClosed = false;
  #nextWriteId = 1;
  #persistedUpTo = 0;
  /** Events whose first write is not confirmed yet: id -> that write. */
  readonly #unkept = new Map<number, number>();
  #reconnectAttempt = 0;
  #resendAttempt = 0;
  #reconnectAt: number | null = null;
  #resendAt: number | null = null;
  #welcomeDeadline: number | null = null;
  #answersDeadline: number | null = null;
  #silentSince: number | null = null;
  readonly #notices: CoreNotice[] = [];
  #depth = 0;

  constructor(options: CoreOptions, effects: CoreEffects) {
    this.#options = options;
    this.#effects = effects;
    this.#window = new SendWindow(Math.min(MAX_SEND_WINDOW, Math.max(1, Math.floor(options.window))));
  }

  get status(): ClientStatus {
    return this.#status;
  }

  get welcome(): WelcomeInfo | null {
    return this.#welcome;
  }

  get examClosed(): boolean {
    return this.#examClosed;
  }

  get pendingCount(): number {
    return this.#entries.length;
  }

  get pending(): PendingEvent[] {
    return this.#entries.map(({ event }) => Object.freeze({ seq: event.seq, kind: event.kind, question: event.question, value: event.value, ts: event.clientTs }));
  }

  /** Stored answers overlaid with kept ones, later kept answers winning. */
  get answers(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [question, answer] of this.#meta.answers) out.set(question, answer.v);
    for (const { event } of this.#entries) if (event.kind === 'answer') out.set(event.question!, event.value!);
    return out;
  }

  get submitted(): boolean {
    return this.#meta.submitted;
  }

  /** The earliest time tick() has something to do, or null. */
  get nextDeadline(): number | null {
    const silence = this.#silentSince === null || this.#options.silenceTimeoutMs === null ? null : this.#silentSince + this.#options.silenceTimeoutMs;
    const times = [this.#reconnectAt, this.#resendAt, this.#welcomeDeadline, this.#answersDeadline, silence].filter((time): time is number => time !== null);
    return times.length === 0 ? null : Math.min(...times);
  }

  /** Loads what the device kept. Call before start(). */
  restore(state: KeptState): void {
    this.#run(() => {
      const { answers, ...meta } = state.meta;
      this.#meta = { ...meta, answers: new Map(answers) };
      const numbered = state.events.filter((e) => e.seq !== null).sort((a, b) => a.seq! - b.seq!);
      const unnumbered = state.events.filter((e) => e.seq === null).sort((a, b) => a.id - b.id);
      this.#entries = [...numbered, ...unnumbered].map((event) => ({ event: { ...event }, writeId: 0, sentOn: 0, sends: 0, firstSentAt: null }));
      for (const { event } of this.#entries) {
        if (event.id >= this.#meta.nextId) this.#meta.nextId = event.id + 1;
        if (event.seq !== null && event.seq > this.#meta.highestSeq) this.#meta.highestSeq = event.seq;
      }
    });
  }

  start(now: number): void {
    this.#run(() => {
      if (this.#started || this.#isFinal) return;
      this.#started = true;
      this.#setStatus('connecting');
      this.#openSocket(now);
    });
  }

  /** Keeps a new event; returns its local id and its seq (null before the device's first welcome). */
  add(kind: EventKind, question: string | null, value: string | null, clientTs: number | null, now: number): { id: number; seq: number | null } {
    let result = { id: 0, seq: null as number | null };
    this.#run(() => {
      if (this.#isFinal) throw this.#finalError();
      if (this.#examClosed && this.#options.stopWhenExamClosed) throw new StudentClientError('exam_closed', 'the exam is closed: no new answers are taken');
      const event: KeptEvent = { id: this.#meta.nextId++, seq: this.#meta.welcomed ? ++this.#meta.highestSeq : null, kind, question, value, clientTs };
      const entry: Entry = { event, writeId: 0, sentOn: 0, sends: 0, firstSentAt: null };
      this.#entries.push(entry);
      entry.writeId = this.#persist({ put: [{ ...event }], remove: [], meta: this.#metaSnapshot() }, [event.id]);
      result = { id: event.id, seq: event.seq };
      this.#pump(now);
    });
    return result;
  }

  persisted(writeId: number, now: number): void {
    this.#run(() => {
      this.#persistedUpTo = Math.max(this.#persistedUpTo, writeId);
      for (const [id, write] of this.#unkept) {
        if (write > writeId) continue;
        this.#unkept.delete(id);
        const entry = this.#entries.find((e) => e.event.id === id);
        this.#notify({ type: 'kept', id, seq: entry?.event.seq ?? null });
      }
      this.#pump(now);
    });
  }

  /** A write failed. `superseded`: another client of this student on this device took the storage over. */
  persistFailed(writeId: number, error: unknown, superseded: boolean, now: number): void {
    this.#run(() => {
      this.#persistedUpTo = Math.max(this.#persistedUpTo, writeId);
      let lostNew = false;
      for (const [id, write] of this.#unkept) {
        if (write !== writeId) continue;
        this.#unkept.delete(id);
        lostNew = true;
        this.#remove(this.#entries.findIndex((e) => e.event.id === id));
        this.#notify({ type: 'keptFailed', id, error });
      }
      if (superseded) return this.#final('replaced', now);
      if (!lostNew) this.#notify({ type: 'storageError', error });
      this.#pump(now);
    });
  }

  socketOpened(now: number): void {
    this.#run(() => {
      if (this.#link !== 'opening') return;
      this.#link = 'hello';
      this.#effects.send(encodeHello(this.#options.token, this.#options.resume));
      this.#pump(now);
    });
  }

  frame(frame: ServerFrame, now: number): void {
    this.#run(() => {
      if (this.#link === 'none' || this.#link === 'opening') return;
      this.#silentSince = this.#sendIndex > 0 ? now : null;
      switch (frame.t) {
        case 'welcome':
          return this.#onWelcome(frame, now);
        case 'answers':
          if (this.#link === 'resuming') this.#resume(frame, now);
          return;
        case 'ack':
          return this.#onAck(frame.seq, now);
        case 'nack':
          return this.#onNack(frame.seq, frame.code, now);
        case 'err':
          this.#notify({ type: 'err', code: frame.code, msg: frame.msg });
          if (frame.code === 'rate_limited' || frame.code === 'busy') this.#refused(now);
          else if (frame.code === 'replaced') this.#final('replaced', now);
          else if (frame.code === 'unauthorized') this.#final('unauthorized', now);
          return;
        case 'closed':
          return this.#onExamClosed(now);
        default: {
          const unreachable: never = frame;
          return unreachable;
        }
      }
    });
  }

  socketClosed(code: number, reason: string, now: number): void {
    this.#run(() => {
      if (this.#link === 'none') return;
      this.#dropLink();
      this.#notify({ type: 'disconnect', code, reason });
      if (code === CloseCode.Replaced) return this.#final('replaced', now);
      if (code === CloseCode.BadToken) return this.#final('unauthorized', now);
      if (this.#isFinal) return;
      this.#setStatus('offline');
      this.#scheduleReconnect(now);
    });
  }

  tick(now: number): void {
    this.#run(() => {
      if (this.#reconnectAt !== null && now >= this.#reconnectAt) {
        this.#reconnectAt = null;
        this.#openSocket(now);
      }
      if (this.#welcomeDeadline !== null && now >= this.#welcomeDeadline) this.#abandonLink(4008, 'no welcome in time', now);
      if (this.#answersDeadline !== null && now >= this.#answersDeadline) this.#resume(null, now);
      const silence = this.#options.silenceTimeoutMs;
      if (this.#silentSince !== null && silence !== null && now >= this.#silentSince + silence) this.#abandonLink(4000, 'no answer from the server', now);
      if (this.#resendAt !== null && now >= this.#resendAt) {
        this.#resendAt = null;
        this.#sendIndex = 0; // resend from the oldest unacked event, a window at a time
        this.#pump(now);
      }
    });
  }

  /** Cuts a reconnect backoff short (the device says it is online again). */
  reconnectNow(now: number): void {
    this.#run(() => {
      if (this.#reconnectAt === null) return;
      this.#reconnectAt = now;
      this.tick(now);
    });
  }

  /** Sends every unacked event again from the oldest, a window at a time; the server acks duplicates. */
  resendAll(now: number): void {
    this.#run(() => {
      if (this.#link !== 'online') return;
      this.#resendAt = null;
      this.#sendIndex = 0;
      this.#pump(now);
    });
  }

  /** Stops for good: status `stopped`. Kept events stay in storage for the next client. */
  close(now: number): void {
    this.#run(() => this.#final('stopped', now));
  }

  // ---- frames

  #onWelcome(frame: Extract<ServerFrame, { t: 'welcome' }>, now: number): void {
    if (this.#link !== 'hello') return;
    this.#welcome = { exam: frame.exam, student: frame.student, lastSeq: frame.lastSeq, state: frame.state, serverTime: frame.serverTime };
    this.#notify({ type: 'welcome', welcome: this.#welcome });
    if (frame.state === 'closed' && !this.#examClosed) {
      this.#examClosed = true;
      this.#notify({ type: 'examClosed' });
    }
    this.#link = 'resuming';
    if (this.#options.resume) this.#answersDeadline = now + this.#options.answersTimeoutMs;
    else this.#resume(null, now);
  }

  /** Settles kept events against the welcome and the `answers` frame (rule 2), then goes online. */
  #resume(answers: AnswersFrame | null, now: number): void {
    if (this.#link !== 'resuming' || this.#welcome === null) return;
    this.#answersDeadline = null;
    const verdict = settleResume({ events: this.#entries.map((e) => e.event), lastSeq: this.#welcome.lastSeq, answers, highestSeq: this.#meta.highestSeq });
    const byId = new Map(this.#entries.map((e) => [e.event.id, e]));
    for (const { event, verdict: how } of verdict.dropped) {
      const entry = byId.get(event.id)!;
      this.#settled(entry, how === 'ack' ? 'ack' : 'nack', how === 'ack' ? null : 'superseded', now);
    }
    this.#entries = verdict.kept.map((event) => byId.get(event.id)!);
    this.#meta.highestSeq = verdict.highestSeq;
    this.#meta.welcomed = true;
    if (answers !== null) {
      this.#meta.answers = new Map(answers.answers);
      this.#meta.submitted = answers.submitted;
    } else {
      for (const { event } of verdict.dropped) this.#learnStored(event);
    }
    const writeId = this.#persist({ put: verdict.renumbered.map((e) => ({ ...e })), remove: verdict.dropped.map((d) => d.event.id), meta: this.#metaSnapshot() }, []);
    for (const event of verdict.renumbered) byId.get(event.id)!.writeId = writeId;
    this.#link = 'online';
    this.#welcomeDeadline = null;
    this.#reconnectAttempt = 0;
    this.#sendIndex = 0;
    this.#setStatus('online');
    this.#notify({ type: 'answers' });
    if (!this.#closeIfSettled(now)) this.#pump(now);
  }

  #onAck(seq: number, now: number): void {
    if (this.#link !== 'online') return;
    let count = 0;
    while (count < this.#entries.length) {
      const entry = this.#entries[count]!;
      if (entry.event.seq === null || entry.event.seq > seq || entry.sentOn !== this.#conn) break;
      count++;
    }
    if (count === 0) return;
    const settled = this.#entries.splice(0, count);
    this.#sendIndex = Math.max(0, this.#sendIndex - count);
    for (const entry of settled) {
      this.#learnStored(entry.event);
      this.#settled(entry, 'ack', null, now);
    }
    this.#persist({ put: [], remove: settled.map((e) => e.event.id), meta: this.#metaSnapshot() }, []);
    this.#window.grow(count);
    // Acks during a pause are for events stored before the refusal: only later ones show the pace is right.
    if (this.#resendAt === null) this.#resendAttempt = 0;
    if (settled.some((e) => e.event.kind !== 'open')) this.#notify({ type: 'answers' });
    if (!this.#closeIfSettled(now)) this.#pump(now);
  }

  #onNack(seq: number, code: NackCode, now: number): void {
    if (this.#link !== 'online') return;
    const index = this.#entries.findIndex((e) => e.event.seq === seq && e.sentOn === this.#conn);
    if (index < 0) return;
    const entry = this.#entries[index]!;
    this.#remove(index);
    if (code === 'submitted') this.#meta.submitted = true;
    this.#settled(entry, 'nack', code, now);
    this.#persist({ put: [], remove: [entry.event.id], meta: this.#metaSnapshot() }, []);
    this.#window.grow(1);
    if (entry.event.kind === 'answer') this.#notify({ type: 'answers' });
    if (!this.#closeIfSettled(now)) this.#pump(now);
  }

  #onExamClosed(now: number): void {
    if (!this.#examClosed) {
      this.#examClosed = true;
      this.#notify({ type: 'examClosed' });
    }
    this.#closeIfSettled(now);
  }

  /** rate_limited / busy: the event was not stored; pause, then resend from the oldest unacked, with a smaller window. */
  #refused(now: number): void {
    if (this.#resendAt !== null) return; // one pause for the whole burst of refusals
    this.#window.shrink();
    this.#resendAt = now + (this.#options.resendDelay(this.#resendAttempt++) ?? 0);
  }

  // ---- sending

  #pump(now: number): void {
    if (this.#link !== 'online' || this.#resendAt !== null) return;
    while (this.#sendIndex < this.#entries.length && this.#sendIndex < this.#window.size) {
      const entry = this.#entries[this.#sendIndex]!;
      const seq = entry.event.seq;
      if (entry.writeId > this.#persistedUpTo || seq === null) break; // write first, send second
      this.#effects.send(encodeEvent({ ...entry.event, seq }));
      entry.sentOn = this.#conn;
      entry.sends++;
      entry.firstSentAt ??= now;
      this.#silentSince ??= now;
      this.#sendIndex++;
    }
  }

  #openSocket(now: number): void {
    this.#conn++;
    this.#link = 'opening';
    this.#sendIndex = 0;
    this.#resendAt = null;
    this.#welcomeDeadline = this.#options.welcomeTimeoutMs === null ? null : now + this.#options.welcomeTimeoutMs;
    this.#effects.connect();
  }

  #dropLink(): void {
    this.#link = 'none';
    this.#sendIndex = 0;
    this.#resendAt = null;
    this.#welcomeDeadline = null;
    this.#answersDeadline = null;
    this.#silentSince = null;
  }

  /** Gives up on a connection that went quiet: closes it and reconnects. */
  #abandonLink(code: number, reason: string, now: number): void {
    if (this.#link === 'none') return;
    this.#effects.disconnect(code, reason);
    this.socketClosed(code, reason, now);
  }

  #scheduleReconnect(now: number): void {
    const delay = this.#options.reconnect === null ? null : this.#options.reconnect(this.#reconnectAttempt++);
    if (delay === null) return this.#final('stopped', now);
    this.#reconnectAt = now + delay;
  }

  // ---- state

  get #isFinal(): boolean {
    return FINAL_STATUSES.has(this.#status);
  }

  #closeIfSettled(now: number): boolean {
    if (!this.#options.stopWhenExamClosed || !this.#examClosed || this.#entries.length > 0 || this.#link !== 'online') return false;
    this.#final('closed', now);
    return true;
  }

  #final(status: ClientStatus, _now: number): void {
    if (this.#isFinal) return;
    if (this.#link !== 'none') {
      this.#effects.disconnect(StandardCloseCode.Normal, status);
      this.#dropLink();
    }
    this.#reconnectAt = null;
    this.#setStatus(status);
  }

  #finalError(): StudentClientError {
    switch (this.#status) {
      case 'replaced':
        return new StudentClientError('replaced', 'this exam is open in another tab or device: this client stopped');
      case 'unauthorized':
        return new StudentClientError('unauthorized', 'the server refused the token; ask for a new one');
      case 'closed':
        return new StudentClientError('exam_closed', 'the exam is closed: no new answers are taken');
      default:
        return new StudentClientError('closed', 'the client was stopped');
    }
  }

  #setStatus(status: ClientStatus): void {
    if (status === this.#status) return;
    const previous = this.#status;
    this.#status = status;
    this.#notify({ type: 'status', status, previous });
  }

  #settled(entry: Entry, result: 'ack' | 'nack', code: SettleCode, now: number): void {
    this.#notify({
      type: 'settled',
      settled: { seq: entry.event.seq ?? 0, result, code, event: entry.event, firstSentAt: entry.firstSentAt, settledAt: now, sends: entry.sends },
    });
  }

  /** An acked event updates what the device knows is stored. */
  #learnStored(event: KeptEvent): void {
    if (event.kind === 'submit') this.#meta.submitted = true;
    if (event.kind !== 'answer' || event.seq === null) return;
    const known = this.#meta.answers.get(event.question!);
    if (known === undefined || known.seq < event.seq) this.#meta.answers.set(event.question!, { v: event.value!, seq: event.seq });
  }

  #remove(index: number): void {
    if (index < 0) return;
    this.#entries.splice(index, 1);
    if (index < this.#sendIndex) this.#sendIndex--;
  }

  #metaSnapshot(): KeptMeta {
    return { highestSeq: this.#meta.highestSeq, welcomed: this.#meta.welcomed, nextId: this.#meta.nextId, answers: [...this.#meta.answers], submitted: this.#meta.submitted };
  }

  /** Hands a write to the shell; `newIds` are events whose keeping answer() waits for. */
  #persist(write: StoreWrite, newIds: number[]): number {
    const writeId = this.#nextWriteId++;
    if (!this.#options.syncStorage) for (const id of newIds) this.#unkept.set(id, writeId);
    this.#effects.persist(writeId, write);
    if (this.#options.syncStorage) {
      this.#persistedUpTo = writeId;
      for (const id of newIds) this.#notify({ type: 'kept', id, seq: write.put.find((e) => e.id === id)?.seq ?? null });
    }
    return writeId;
  }

  #notify(notice: CoreNotice): void {
    this.#notices.push(notice);
  }

  /** Runs one input; notices go out once it is done, so a listener that calls back in finds a settled core. */
  #run(input: () => void): void {
    this.#depth++;
    try {
      input();
    } finally {
      this.#depth--;
    }
    if (this.#depth > 0) return;
    while (this.#notices.length > 0) this.#effects.notify(this.#notices.shift()!);
  }
}
