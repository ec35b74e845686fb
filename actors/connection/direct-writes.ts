// A quiet connection actor's own writes to Redis (writers.directInFlight): a lone event stored by the
// thread that read it; a busy actor, an error or a closed gate leave it to the writers, as before.

import { faults } from '../../src/actor-runtime/fault-injection.js';
import { WriteOutcome } from '../../src/events/answer-event.js';
import { eventToWrite, type BucketStore } from '../../src/redis/bucket-store.js';
import type { EventEnvelope } from '../../src/ring/event-record.js';
import { storageOpen } from '../../src/storage/storage-gate.js';
import type { StudentSession } from './student-session.js';

export interface DirectWritesDeps {
  store: BucketStore;
  /** Events this actor may have in its own writes at once; 0 turns direct writes off. */
  limit: number;
  /** Rule S3's gate: closed, nothing is written here either. */
  storageGate?: SharedArrayBuffer | undefined;
  /** No event of the actor is in the rings: direct writes would not take events from a writer's batch. */
  ringsIdle(): boolean;
  /** The session is still the one its slot holds (a closed socket's answers go nowhere). */
  isCurrent(session: StudentSession): boolean;
  /** Redis answered these events of the session, in order: acks, nacks, replacement. */
  answered(session: StudentSession, seqs: readonly number[], outcomes: readonly WriteOutcome[]): void;
  /** Events that go through the writers after all, in order; nothing of the session is in flight here. */
  toRing(session: StudentSession, envelopes: readonly EventEnvelope[]): void;
  /** A direct write failed and its events went to the writers: for the log, once per failure. */
  failed(error: unknown, events: number): void;
}

/** Per session with a write in flight: the events read since, which wait for it. */
interface SessionWrites {
  waiting: EventEnvelope[];
}

export class DirectWrites {
  readonly #deps: DirectWritesDeps;
  readonly #busy = new Map<StudentSession, SessionWrites>();
  #inFlight = 0;
  /** What this actor's own writes did, for status (the writers count theirs the same way). */
  readonly counts = { stored: 0, duplicates: 0, refused: 0, fellBack: 0 };

  constructor(deps: DirectWritesDeps) {
    this.#deps = deps;
  }

  /** Whether direct writes can ever happen here: on, and one call may span any bucket (a single Redis). */
  get enabled(): boolean {
    return this.#deps.limit > 0 && this.#deps.store.writesBucketsTogether;
  }

  /**
   * Takes the event if it is this actor's to write: the session has a write of its own in flight
   * (the event waits behind it, so a student's events reach Redis in order), or none of the actor's
   * events is on its way through a writer and the actor is under its limit. False: the ring's.
   */
  take(session: StudentSession, envelope: EventEnvelope): boolean {
    const busy = this.#busy.get(session);
    if (busy !== undefined) {
      // Counted as in flight from now: a graceful stop waits for it like for an event in a ring.
      session.inFlight += 1;
      busy.waiting.push(envelope);
      return true;
    }
    // Under load the rings are in use, and a writer's batch costs less per event than a call per
    // student: direct writes are for the quiet times between spikes.
    if (!this.enabled || session.inFlight > 0 || session.held.length > 0 || !this.#deps.ringsIdle()) return false;
    if (this.#inFlight >= this.#deps.limit || !storageOpen(this.#deps.storageGate)) return false;
    session.inFlight += 1;
    this.#write(session, [envelope]);
    return true;
  }

  /** `envelopes` are already counted in the session's inFlight. */
  #write(session: StudentSession, envelopes: EventEnvelope[]): void {
    const busy: SessionWrites = { waiting: [] };
    this.#busy.set(session, busy);
    this.#inFlight += envelopes.length;
    const first = envelopes[0]!;
    const events = envelopes.map(eventToWrite);
    const write = () => this.#deps.store.writeBatch(first.event.exam, first.bucket, events);
    const written = faults.armed ? faults.reach('connection.directWrite').then(write) : write();
    // Events read off the socket are written whatever becomes of the socket meanwhile, as they would
    // be from a ring: a client that closes right after sending, or is closed for a refusal behind
    // them, finds them stored on its next connection (only their acks are lost with the socket).
    written.then(
      (outcomes) => {
        this.#settle(session, envelopes);
        for (const outcome of outcomes) this.#count(outcome);
        if (this.#deps.isCurrent(session)) this.#deps.answered(session, envelopes.map((envelope) => envelope.event.seq), outcomes);
        this.#next(session, busy.waiting);
      },
      (error: unknown) => {
        this.#settle(session, envelopes);
        this.counts.fellBack += envelopes.length;
        // Nothing of the call was stored (a call that raises writes nothing) or it is unknown (the
        // connection dropped): the writers store it, or answer it as a duplicate, and isolate an
        // event that raises. Nothing of the session is in flight, so the order holds.
        this.#deps.failed(error, envelopes.length);
        this.#deps.toRing(session, [...envelopes, ...this.#drop(session, busy.waiting)]);
      },
    );
  }

  #count(outcome: WriteOutcome): void {
    if (outcome === WriteOutcome.Stored) this.counts.stored += 1;
    else if (outcome === WriteOutcome.Duplicate) this.counts.duplicates += 1;
    else this.counts.refused += 1;
  }

  #settle(session: StudentSession, envelopes: readonly EventEnvelope[]): void {
    this.#busy.delete(session);
    this.#inFlight -= envelopes.length;
    session.inFlight -= envelopes.length;
  }

  /** Takes events out of the session's count (the ring's path counts them again as it takes them). */
  #drop(session: StudentSession, waiting: EventEnvelope[]): EventEnvelope[] {
    session.inFlight -= waiting.length;
    return waiting.splice(0);
  }

  /** What waited behind the answered write: one call for all of it, or the ring's when busy. */
  #next(session: StudentSession, waiting: EventEnvelope[]): void {
    if (waiting.length === 0) return;
    if (this.#inFlight < this.#deps.limit && storageOpen(this.#deps.storageGate)) this.#write(session, waiting.splice(0));
    else this.#deps.toRing(session, this.#drop(session, waiting));
  }
}
