// The student client's protocol engine (docs/PROTOCOL.md sections 3 and 7), no I/O of its own: it ties the outbox
// (outbox.ts) to the link (link.ts); the shell feeds it socket events, frames, storage results and the time, and carries out its effects.

import { StudentClientError } from '../../errors.js';
import type { EventKind } from '../../events/answer-event.js';
import { encodeEvent, encodeHello } from '../../protocol/client-frame.js';
import { CloseCode, StandardCloseCode } from '../../protocol/close-codes.js';
import type { AnswersFrame, NackCode, ServerFrame } from '../../protocol/server-frame.js';
import { FINAL_STATUSES, type ClientStatus, type CoreEffects, type CoreNotice, type SettleCode, type WelcomeInfo } from './core-io.js';
import type { KeptState, PendingEvent } from './kept-event.js';
import { Link, type LinkOptions } from './link.js';
import { Outbox, type OutboxEntry, type OutboxOptions } from './outbox.js';

/** The outbox's options (window, resendDelay, syncStorage), the link's (reconnect and the timeouts), and these. */
export interface CoreOptions extends OutboxOptions, LinkOptions {
  token: string;
  /** Ask for the stored answers on every hello (rule 4). */
  resume: boolean;
  /**
   * Stop (status `closed`) once the exam is closed and every kept event is settled (section 7,
   * rule 5). Off for the Node test client, which goes on sending so tests can see the nacks.
   */
  stopWhenExamClosed: boolean;
}

export class ClientCore {
  readonly #options: CoreOptions;
  readonly #effects: CoreEffects;
  readonly #outbox: Outbox;
  readonly #link: Link;
  #status: ClientStatus = 'connecting';
  #started = false;
  #welcome: WelcomeInfo | null = null;
  #examClosed = false;
  readonly #notices: CoreNotice[] = [];
  #depth = 0;

  constructor(options: CoreOptions, effects: CoreEffects) {
    this.#options = options;
    this.#effects = effects;
    this.#outbox = new Outbox(options, {
      persist: (writeId, write) => effects.persist(writeId, write),
      kept: (id, seq) => this.#notify({ type: 'kept', id, seq }),
    });
    this.#link = new Link(options);
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
    return this.#outbox.size;
  }

  get pending(): PendingEvent[] {
    return this.#outbox.pending;
  }

  /** Stored answers overlaid with kept ones, later kept answers winning. */
  get answers(): Map<string, string> {
    return this.#outbox.answers;
  }

  get submitted(): boolean {
    return this.#outbox.submitted;
  }

  /** The earliest time tick() has something to do, or null. */
  get nextDeadline(): number | null {
    const times = [this.#link.nextDeadline, this.#outbox.resendAt].filter((time): time is number => time !== null);
    return times.length === 0 ? null : Math.min(...times);
  }

  /** Loads what the device kept. Call before start(). */
  restore(state: KeptState): void {
    this.#run(() => this.#outbox.restore(state));
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
      result = this.#outbox.add(kind, question, value, clientTs);
      this.#pump(now);
    });
    return result;
  }

  persisted(writeId: number, now: number): void {
    this.#run(() => {
      this.#outbox.persisted(writeId);
      this.#pump(now);
    });
  }

  /** A write failed. `superseded`: another client of this student on this device took the storage over. */
  persistFailed(writeId: number, error: unknown, superseded: boolean, now: number): void {
    this.#run(() => {
      const lost = this.#outbox.persistFailed(writeId);
      for (const id of lost) this.#notify({ type: 'keptFailed', id, error });
      if (superseded) return this.#final('replaced', now);
      if (lost.length === 0) this.#notify({ type: 'storageError', error });
      this.#pump(now);
    });
  }

  socketOpened(now: number): void {
    this.#run(() => {
      if (!this.#link.opened()) return;
      this.#effects.send(encodeHello(this.#options.token, this.#options.resume));
      this.#pump(now);
    });
  }

  frame(frame: ServerFrame, now: number): void {
    this.#run(() => {
      if (this.#link.state === 'none' || this.#link.state === 'opening') return;
      this.#link.heard(now, this.#outbox.awaiting);
      switch (frame.t) {
        case 'welcome':
          return this.#onWelcome(frame, now);
        case 'answers':
          return this.#resume(frame, now);
        case 'ack':
          return this.#onAck(frame.seq, now);
        case 'nack':
          return this.#onNack(frame.seq, frame.code, now);
        case 'err':
          this.#notify({ type: 'err', code: frame.code, msg: frame.msg });
          if (frame.code === 'rate_limited' || frame.code === 'busy') this.#outbox.refused(now);
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
      if (this.#link.state === 'none') return;
      this.#dropLink();
      this.#notify({ type: 'disconnect', code, reason });
      if (code === CloseCode.Replaced) return this.#final('replaced', now);
      if (code === CloseCode.BadToken) return this.#final('unauthorized', now);
      if (this.#isFinal) return;
      this.#setStatus('offline');
      if (!this.#link.scheduleReconnect(now)) this.#final('stopped', now);
    });
  }

  tick(now: number): void {
    this.#run(() => {
      if (this.#link.reconnectDue(now)) this.#openSocket(now);
      if (this.#link.welcomeOverdue(now)) this.#abandonLink(4008, 'no welcome in time', now);
      if (this.#link.answersOverdue(now)) this.#resume(null, now);
      if (this.#link.silenceOverdue(now)) this.#abandonLink(4000, 'no answer from the server', now);
      if (this.#outbox.resendDue(now)) this.#pump(now); // resend from the oldest unacked event, a window at a time
    });
  }

  /** Cuts a reconnect backoff short (the device says it is online again). */
  reconnectNow(now: number): void {
    this.#run(() => {
      if (this.#link.reconnectNow(now)) this.tick(now);
    });
  }

  /** Sends every unacked event again from the oldest, a window at a time; the server acks duplicates. */
  resendAll(now: number): void {
    this.#run(() => {
      if (this.#link.state !== 'online') return;
      this.#outbox.resendAll();
      this.#pump(now);
    });
  }

  /** Stops for good: status `stopped`. Kept events stay in storage for the next client. */
  close(now: number): void {
    this.#run(() => this.#final('stopped', now));
  }

  // ---- frames

  #onWelcome(frame: Extract<ServerFrame, { t: 'welcome' }>, now: number): void {
    if (!this.#link.welcomed(now, this.#options.resume)) return;
    this.#welcome = { exam: frame.exam, student: frame.student, lastSeq: frame.lastSeq, state: frame.state, serverTime: frame.serverTime };
    this.#notify({ type: 'welcome', welcome: this.#welcome });
    if (frame.state === 'closed' && !this.#examClosed) {
      this.#examClosed = true;
      this.#notify({ type: 'examClosed' });
    }
    if (!this.#options.resume) this.#resume(null, now);
  }

  /** Settles kept events against the welcome and the `answers` frame (rule 2), then goes online. */
  #resume(answers: AnswersFrame | null, now: number): void {
    if (this.#link.state !== 'resuming' || this.#welcome === null) return;
    for (const { entry, how } of this.#outbox.resume(this.#welcome.lastSeq, answers)) {
      this.#settled(entry, how === 'ack' ? 'ack' : 'nack', how === 'ack' ? null : 'superseded', now);
    }
    this.#link.online();
    this.#setStatus('online');
    this.#notify({ type: 'answers' });
    if (!this.#closeIfSettled(now)) this.#pump(now);
  }

  #onAck(seq: number, now: number): void {
    if (this.#link.state !== 'online') return;
    const settled = this.#outbox.ack(seq, this.#link.conn);
    if (settled.length === 0) return;
    for (const entry of settled) this.#settled(entry, 'ack', null, now);
    if (settled.some((e) => e.event.kind !== 'open')) this.#notify({ type: 'answers' });
    if (!this.#closeIfSettled(now)) this.#pump(now);
  }

  #onNack(seq: number, code: NackCode, now: number): void {
    if (this.#link.state !== 'online') return;
    const entry = this.#outbox.nack(seq, code, this.#link.conn);
    if (entry === null) return;
    this.#settled(entry, 'nack', code, now);
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

  // ---- the link

  #pump(now: number): void {
    if (this.#link.state !== 'online') return;
    for (const event of this.#outbox.takeSendable(this.#link.conn, now)) {
      this.#effects.send(encodeEvent(event));
      this.#link.sent(now);
    }
  }

  #openSocket(now: number): void {
    this.#link.open(now);
    this.#outbox.resetWire();
    this.#effects.connect();
  }

  #dropLink(): void {
    this.#link.drop();
    this.#outbox.resetWire();
  }

  /** Gives up on a connection that went quiet: closes it and reconnects. */
  #abandonLink(code: number, reason: string, now: number): void {
    if (this.#link.state === 'none') return;
    this.#effects.disconnect(code, reason);
    this.socketClosed(code, reason, now);
  }

  // ---- state

  get #isFinal(): boolean {
    return FINAL_STATUSES.has(this.#status);
  }

  #closeIfSettled(now: number): boolean {
    if (!this.#options.stopWhenExamClosed || !this.#examClosed || this.#outbox.size > 0 || this.#link.state !== 'online') return false;
    this.#final('closed', now);
    return true;
  }

  #final(status: ClientStatus, _now: number): void {
    if (this.#isFinal) return;
    if (this.#link.state !== 'none') {
      this.#effects.disconnect(StandardCloseCode.Normal, status);
      this.#dropLink();
    }
    this.#link.cancelReconnect();
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

  #settled(entry: OutboxEntry, result: 'ack' | 'nack', code: SettleCode, now: number): void {
    this.#notify({
      type: 'settled',
      settled: { seq: entry.event.seq ?? 0, result, code, event: entry.event, firstSentAt: entry.firstSentAt, settledAt: now, sends: entry.sends },
    });
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
