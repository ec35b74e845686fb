// The client's outbox (docs/PROTOCOL.md section 7): the kept events in send order, their writes to the
// device's storage, which of them are on the wire, ack/nack bookkeeping and the paced resend after a refusal.

import type { EventKind } from '../../events/answer-event.js';
import type { AnswersFrame, NackCode, StoredAnswer } from '../../protocol/server-frame.js';
import type { BackoffFn } from '../reconnect-backoff.js';
import type { KeptEvent, KeptMeta, KeptState, PendingEvent, StoreWrite } from './kept-event.js';
import { settleResume } from './resume-settlement.js';
import { MAX_SEND_WINDOW, SendWindow } from './send-window.js';

export interface OutboxOptions {
  /** Unacked events on the wire at most (clamped to 1..MAX_SEND_WINDOW). */
  window: number;
  /** Delay before resending after refusal number n in a row (null: at once). */
  resendDelay: BackoffFn;
  /** The storage applies writes before persist() returns: events are kept at once. */
  syncStorage: boolean;
}

/** Where the outbox's writes go and whom it tells that a new event is kept. */
export interface OutboxStore {
  persist(writeId: number, write: StoreWrite): void;
  kept(id: number, seq: number | null): void;
}

/** One kept event and what this client knows of its sending. */
export interface OutboxEntry {
  readonly event: KeptEvent;
  /** The last write that holds the event as it is now; sendable once it is persisted. */
  writeId: number;
  /** The connection it was last sent on (0: never). */
  sentOn: number;
  sends: number;
  firstSentAt: number | null;
}

/** An event the server settled while resuming: `ack` stored, `superseded` overtaken by a later answer. */
export interface ResumeDrop {
  readonly entry: OutboxEntry;
  readonly how: 'ack' | 'superseded';
}

type LiveMeta = Omit<KeptMeta, 'answers'> & { answers: Map<string, StoredAnswer> };

const newEntry = (event: KeptEvent): OutboxEntry => ({ event, writeId: 0, sentOn: 0, sends: 0, firstSentAt: null });

export class Outbox {
  readonly #options: OutboxOptions;
  readonly #store: OutboxStore;
  readonly #window: SendWindow;
  /** Numbered events by seq, then unnumbered ones by id: the order they are sent in. */
  #entries: OutboxEntry[] = [];
  /** entries[0, sendIndex) are on the wire of the current connection. */
  #sendIndex = 0;
  #meta: LiveMeta = { highestSeq: 0, welcomed: false, nextId: 1, answers: new Map(), submitted: false };
  #nextWriteId = 1;
  #persistedUpTo = 0;
  /** Events whose first write is not confirmed yet: id -> that write. */
  readonly #unkept = new Map<number, number>();
  #resendAttempt = 0;
  #resendAt: number | null = null;

  constructor(options: OutboxOptions, store: OutboxStore) {
    this.#options = options;
    this.#store = store;
    this.#window = new SendWindow(Math.min(MAX_SEND_WINDOW, Math.max(1, Math.floor(options.window))));
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Some events are on the wire of the current connection, awaiting an ack or nack. */
  get awaiting(): boolean {
    return this.#sendIndex > 0;
  }

  get windowSize(): number {
    return this.#window.size;
  }

  /** When the pause after a refusal ends, or null. */
  get resendAt(): number | null {
    return this.#resendAt;
  }

  get submitted(): boolean {
    return this.#meta.submitted;
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

  /** Loads what the device kept. */
  restore(state: KeptState): void {
    const { answers, ...meta } = state.meta;
    this.#meta = { ...meta, answers: new Map(answers) };
    const numbered = state.events.filter((e) => e.seq !== null).sort((a, b) => a.seq! - b.seq!);
    const unnumbered = state.events.filter((e) => e.seq === null).sort((a, b) => a.id - b.id);
    this.#entries = [...numbered, ...unnumbered].map((event) => newEntry({ ...event }));
    for (const { event } of this.#entries) {
      if (event.id >= this.#meta.nextId) this.#meta.nextId = event.id + 1;
      if (event.seq !== null && event.seq > this.#meta.highestSeq) this.#meta.highestSeq = event.seq;
    }
  }

  /** Keeps a new event: numbered once the device was welcomed (rule 2), written before it may be sent. */
  add(kind: EventKind, question: string | null, value: string | null, clientTs: number | null): { id: number; seq: number | null } {
    const event: KeptEvent = { id: this.#meta.nextId++, seq: this.#meta.welcomed ? ++this.#meta.highestSeq : null, kind, question, value, clientTs };
    const entry = newEntry(event);
    this.#entries.push(entry);
    entry.writeId = this.#persist({ put: [{ ...event }], remove: [], meta: this.#metaSnapshot() }, [event.id]);
    return { id: event.id, seq: event.seq };
  }

  /** Writes up to `writeId` are durable: their new events are kept and may be sent. */
  persisted(writeId: number): void {
    this.#persistedUpTo = Math.max(this.#persistedUpTo, writeId);
    for (const [id, write] of this.#unkept) {
      if (write > writeId) continue;
      this.#unkept.delete(id);
      this.#store.kept(id, this.#entries.find((e) => e.event.id === id)?.event.seq ?? null);
    }
  }

  /** Write `writeId` failed: the events it was the first write of are dropped; returns their ids. */
  persistFailed(writeId: number): number[] {
    this.#persistedUpTo = Math.max(this.#persistedUpTo, writeId);
    const lost: number[] = [];
    for (const [id, write] of this.#unkept) {
      if (write !== writeId) continue;
      this.#unkept.delete(id);
      lost.push(id);
      this.#remove(this.#entries.findIndex((e) => e.event.id === id));
    }
    return lost;
  }

  /**
   * The events to write to connection `conn` now: the next ones past those on the wire, within the
   * window, stopping at the first that is not persisted or numbered yet (write first, send second).
   * None during a pause after a refusal.
   */
  takeSendable(conn: number, now: number): Array<KeptEvent & { seq: number }> {
    const out: Array<KeptEvent & { seq: number }> = [];
    if (this.#resendAt !== null) return out;
    while (this.#sendIndex < this.#entries.length && this.#sendIndex < this.#window.size) {
      const entry = this.#entries[this.#sendIndex]!;
      const seq = entry.event.seq;
      if (entry.writeId > this.#persistedUpTo || seq === null) break;
      out.push({ ...entry.event, seq });
      entry.sentOn = conn;
      entry.sends++;
      entry.firstSentAt ??= now;
      this.#sendIndex++;
    }
    return out;
  }

  /** The connection is gone or new: nothing is on its wire, and a pause for the old one no longer holds. */
  resetWire(): void {
    this.#sendIndex = 0;
    this.#resendAt = null;
  }

  /** Sends every unacked event again from the oldest, a window at a time; the server acks duplicates. */
  resendAll(): void {
    this.resetWire();
  }

  /** rate_limited / busy: the event was not stored; pause, then resend from the oldest unacked, with a smaller window. */
  refused(now: number): void {
    if (this.#resendAt !== null) return; // one pause for the whole burst of refusals
    this.#window.shrink();
    this.#resendAt = now + (this.#options.resendDelay(this.#resendAttempt++) ?? 0);
  }

  /** Ends a pause that is due; true if it did (the caller sends again from the oldest unacked). */
  resendDue(now: number): boolean {
    if (this.#resendAt === null || now < this.#resendAt) return false;
    this.#resendAt = null;
    this.#sendIndex = 0;
    return true;
  }

  /** An ack of `seq` on connection `conn` settles every event up to it that was sent there, oldest first. */
  ack(seq: number, conn: number): OutboxEntry[] {
    let count = 0;
    while (count < this.#entries.length) {
      const entry = this.#entries[count]!;
      if (entry.event.seq === null || entry.event.seq > seq || entry.sentOn !== conn) break;
      count++;
    }
    if (count === 0) return [];
    const settled = this.#entries.splice(0, count);
    this.#sendIndex = Math.max(0, this.#sendIndex - count);
    for (const entry of settled) this.#learnStored(entry.event);
    this.#persist({ put: [], remove: settled.map((e) => e.event.id), meta: this.#metaSnapshot() }, []);
    this.#window.grow(count);
    // Acks during a pause are for events stored before the refusal: only later ones show the pace is right.
    if (this.#resendAt === null) this.#resendAttempt = 0;
    return settled;
  }

  /** A nack of `seq` on connection `conn` settles that one event; null if it is not one sent there. */
  nack(seq: number, code: NackCode, conn: number): OutboxEntry | null {
    const index = this.#entries.findIndex((e) => e.event.seq === seq && e.sentOn === conn);
    if (index < 0) return null;
    const entry = this.#entries[index]!;
    this.#remove(index);
    if (code === 'submitted') this.#meta.submitted = true;
    this.#persist({ put: [], remove: [entry.event.id], meta: this.#metaSnapshot() }, []);
    this.#window.grow(1);
    return entry;
  }

  /** Settles kept events against the welcome's lastSeq and the `answers` frame (rule 2); returns the ones dropped. */
  resume(lastSeq: number, answers: AnswersFrame | null): ResumeDrop[] {
    const verdict = settleResume({ events: this.#entries.map((e) => e.event), lastSeq, answers, highestSeq: this.#meta.highestSeq });
    const byId = new Map(this.#entries.map((e) => [e.event.id, e]));
    const dropped = verdict.dropped.map(({ event, verdict: how }): ResumeDrop => ({ entry: byId.get(event.id)!, how: how === 'ack' ? 'ack' : 'superseded' }));
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
    this.#sendIndex = 0;
    return dropped;
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

  /** Hands a write to the store; `newIds` are events whose keeping the page waits for. */
  #persist(write: StoreWrite, newIds: number[]): number {
    const writeId = this.#nextWriteId++;
    if (!this.#options.syncStorage) for (const id of newIds) this.#unkept.set(id, writeId);
    this.#store.persist(writeId, write);
    if (this.#options.syncStorage) {
      this.#persistedUpTo = writeId;
      for (const id of newIds) this.#store.kept(id, write.put.find((e) => e.id === id)?.seq ?? null);
    }
    return writeId;
  }
}
