// A quiet connection actor's own writes to Redis (writers.directInFlight): one call at a time, what
// its sockets read meanwhile going as the next; a busy actor, an error or a closed gate use the writers.

import { faults } from '../../src/actor-runtime/fault-injection.js';
import { WriteOutcome } from '../../src/events/answer-event.js';
import type { BucketStore } from '../../src/redis/bucket-store.js';
import type { EventEnvelope } from '../../src/ring/event-record.js';
import { storageOpen } from '../../src/storage/storage-gate.js';
import { groupByBucket } from '../redis-writer/batch-groups.js';
import type { StudentSession } from './student-session.js';

export interface DirectWritesDeps {
  store: BucketStore;
  /** Events this actor may have in its own writes at once (sent or waiting for the next call); 0 turns direct writes off. */
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

/** One call's events, per session in the order they were read. */
type DirectCall = Map<StudentSession, EventEnvelope[]>;

export class DirectWrites {
  readonly #deps: DirectWritesDeps;
  /** The call Redis is answering; one at a time, so the calls of one student never overtake each other. */
  #sending: DirectCall | null = null;
  /** Events read since: the next call. */
  #next: DirectCall = new Map();
  /** Events per session here (#sending, #next, #leaving): a session listed here keeps its events here until they are answered. */
  readonly #sessions = new Map<StudentSession, number>();
  /**
   * Events read while the actor's rings were busy, of sessions with events still in #sending or
   * #next: they go to the writers once those are answered, and the session with them.
   */
  readonly #leaving = new Map<StudentSession, EventEnvelope[]>();
  /**
   * Sessions whose socket this actor paused because its events here reached the limit (Redis slow
   * or down): the same TCP backpressure a full ring gives, resumed once the events fall under it.
   */
  readonly #paused = new Set<StudentSession>();
  #events = 0;
  #sendScheduled = false;
  /** What this actor's own writes did, for status (the writers count theirs the same way). */
  readonly counts = { stored: 0, duplicates: 0, refused: 0, fellBack: 0 };

  constructor(deps: DirectWritesDeps) {
    this.#deps = deps;
  }

  /**
   * Sockets paused because the actor's own writes hold as many events as they may (counted in status
   * `blocked`); a session closed meanwhile is no longer held and stays in #paused only until resumed.
   */
  get pausedCount(): number {
    let held = 0;
    for (const session of this.#paused) if (session.readsHeldFor('direct')) held += 1;
    return held;
  }

  /** Whether direct writes can ever happen here: on, and one call may span any bucket (a single Redis). */
  get enabled(): boolean {
    return this.#deps.limit > 0 && this.#deps.store.writesBucketsTogether;
  }

  /**
   * Takes the event if it is this actor's to write: the session has events here already (the
   * event follows them, so a student's events reach Redis in order), or none of the actor's
   * events is on its way through a writer and the actor is under its limit. False: the ring's.
   * A session's event read while the rings are busy waits for its events here to be answered and
   * then goes to the writers, the session with it.
   */
  take(session: StudentSession, envelope: EventEnvelope): boolean {
    // Under load the rings are in use, and a writer's batch costs less per event than a call per
    // turn of this actor: direct writes are for the quiet times between spikes.
    const ringsIdle = this.#deps.ringsIdle();
    if (!this.#sessions.has(session)) {
      if (!this.enabled || session.inFlight > 0 || session.held.length > 0 || !ringsIdle) return false;
      if (this.#events >= this.#deps.limit || !storageOpen(this.#deps.storageGate)) return false;
    }
    // Counted as in flight from now: a graceful stop waits for it like for an event in a ring.
    session.inFlight += 1;
    this.#sessions.set(session, (this.#sessions.get(session) ?? 0) + 1);
    this.#events += 1;
    if (this.#events >= this.#deps.limit && !this.#paused.has(session)) {
      // A student already here is never turned away (its events would overtake each other): it
      // waits for Redis with its socket paused, as behind a full ring, so nothing piles up here.
      this.#paused.add(session);
      session.holdReads('direct');
    }
    const leaving = this.#leaving.get(session);
    if (leaving !== undefined || !ringsIdle) {
      // A student who keeps writing would otherwise stay here through a spike: it goes back to the
      // writers behind its events here, so none of its events overtakes another.
      if (leaving === undefined) this.#leaving.set(session, [envelope]);
      else leaving.push(envelope);
      return true;
    }
    const waiting = this.#next.get(session);
    if (waiting === undefined) this.#next.set(session, [envelope]);
    else waiting.push(envelope);
    if (this.#sending === null && !this.#sendScheduled) {
      // After this turn's reads: what every socket sent in it goes as one call.
      this.#sendScheduled = true;
      setImmediate(() => {
        this.#sendScheduled = false;
        this.#send();
      });
    }
    return true;
  }

  #send(): void {
    if (this.#sending !== null || this.#next.size === 0) return;
    const call = this.#next;
    this.#next = new Map();
    if (!storageOpen(this.#deps.storageGate)) {
      // Closed since they were read: the writers hold them at the gate like any event.
      for (const [session, envelopes] of call) this.#toRing(session, [...envelopes, ...this.#takeLeaving(session)]);
      return;
    }
    this.#sending = call;
    const groups = groupByBucket([...call].flatMap(([session, envelopes]) => envelopes.map((envelope) => ({ session, envelope }))));
    const write = () => this.#deps.store.writeBuckets(groups);
    const written = faults.armed ? faults.reach('connection.directWrite').then(write) : write();
    // Events read off the socket are written whatever becomes of the socket meanwhile, as they would
    // be from a ring: a client that closes right after sending, or is closed for a refusal behind
    // them, finds them stored on its next connection (only their acks are lost with the socket).
    written.then(
      (outcomes) => {
        this.#sending = null;
        // A student's events are all in one group, in the order they were read.
        const answers = new Map<StudentSession, WriteOutcome[]>();
        groups.forEach((group, index) => {
          group.entries.forEach(({ session }, at) => {
            const outcome = outcomes[index]![at]!;
            this.#count(outcome);
            const mine = answers.get(session);
            if (mine === undefined) answers.set(session, [outcome]);
            else mine.push(outcome);
          });
        });
        for (const [session, envelopes] of call) {
          this.#settle(session, envelopes.length);
          if (this.#deps.isCurrent(session)) this.#deps.answered(session, envelopes.map((envelope) => envelope.event.seq), answers.get(session)!);
          const leaving = this.#leaving.get(session);
          if (leaving !== undefined && !this.#next.has(session)) this.#toRing(session, this.#takeLeaving(session));
        }
        this.#resumePaused();
        this.#send();
      },
      (error: unknown) => {
        this.#sending = null;
        // Nothing of the call was stored (a call that raises writes nothing) or it is unknown (the
        // connection dropped): the writers store it, or answer it as a duplicate, and isolate an
        // event that raises. Each session's later events follow its failed ones, so the order holds.
        let events = 0;
        for (const [session, envelopes] of call) {
          events += envelopes.length;
          const later = this.#next.get(session) ?? [];
          this.#next.delete(session);
          this.#toRing(session, [...envelopes, ...later, ...this.#takeLeaving(session)]);
        }
        this.counts.fellBack += events;
        this.#deps.failed(error, events);
        this.#resumePaused();
        this.#send();
      },
    );
  }

  #count(outcome: WriteOutcome): void {
    if (outcome === WriteOutcome.Stored) this.counts.stored += 1;
    else if (outcome === WriteOutcome.Duplicate) this.counts.duplicates += 1;
    else this.counts.refused += 1;
  }

  #settle(session: StudentSession, events: number): void {
    const left = this.#sessions.get(session)! - events;
    if (left === 0) this.#sessions.delete(session);
    else this.#sessions.set(session, left);
    this.#events -= events;
    session.inFlight -= events;
  }

  /** Under the limit again: the paused sockets read on (a session that went to the writers was resumed as it left). */
  #resumePaused(): void {
    if (this.#events >= this.#deps.limit) return;
    for (const session of this.#paused) this.#resume(session);
  }

  #resume(session: StudentSession): void {
    if (this.#paused.delete(session)) session.releaseReads('direct');
  }

  #takeLeaving(session: StudentSession): EventEnvelope[] {
    const leaving = this.#leaving.get(session) ?? [];
    this.#leaving.delete(session);
    return leaving;
  }

  /** Hands the session's events here to the writers (the ring's path counts them again as it takes them). */
  #toRing(session: StudentSession, envelopes: EventEnvelope[]): void {
    this.#settle(session, envelopes.length);
    this.#deps.toRing(session, envelopes);
    // Its events are the writers' now: a full ring pauses it again (held), otherwise it reads on.
    this.#resume(session);
  }
}
