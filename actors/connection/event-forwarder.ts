// Puts decoded events into the ring of their writer. When a ring is full the event is held and
// the socket paused (TCP backpressure); nothing is dropped, and held events keep their order.

import { Doorbell } from '../../src/ring/doorbell.js';
import { encodeEventRecord, eventRecordLength, type EventEnvelope } from '../../src/ring/event-record.js';
import { RingProducer } from '../../src/ring/ring-producer.js';
import type { DirectWrites } from './direct-writes.js';
import type { StudentSession } from './student-session.js';

const BLOCKED_RETRY_MS = 2;

export class EventForwarder {
  private readonly producers: RingProducer[];
  private readonly doorbells: Doorbell[];
  private readonly dirty = new Set<number>();
  private readonly blocked = new Set<StudentSession>();
  private flushScheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  forwarded = 0;
  /**
   * Events of this actor in the rings or held for them and not answered yet (a restarted writer's
   * repeated answers can make it undercount: it is a hint for direct writes, never for order).
   */
  #inRings = 0;

  constructor(eventRings: SharedArrayBuffer[], writerDoorbells: SharedArrayBuffer[]) {
    // A restarted actor continues each ring at its published write index.
    this.producers = eventRings.map((sab) => new RingProducer(sab));
    this.doorbells = writerDoorbells.map((sab) => new Doorbell(sab));
  }

  get blockedCount(): number {
    return this.blocked.size;
  }

  get holdsEvents(): boolean {
    return this.blocked.size > 0;
  }

  /**
   * The actor's own writes while it is quiet (direct-writes.ts): asked first for every event.
   * Set once at start; null writes everything through the rings.
   */
  direct: DirectWrites | null = null;

  /** Forwards the event (to Redis directly when the actor is quiet), or holds it behind the session's earlier held events. */
  forward(session: StudentSession, envelope: EventEnvelope): void {
    if (this.direct !== null && this.direct.take(session, envelope)) return;
    this.toRing(session, envelope);
  }

  /** Into the ring of the session's writer, or held behind its earlier held events. */
  toRing(session: StudentSession, envelope: EventEnvelope): void {
    session.inFlight += 1;
    this.#inRings += 1;
    if (session.held.length > 0 || !this.tryPut(session.writer, envelope)) {
      session.held.push(envelope);
      if (!this.blocked.has(session)) {
        this.blocked.add(session);
        session.holdReads('ring');
        this.scheduleRetry();
      }
    }
  }

  /** Moves held events into rings that have room again; resumes sockets whose queue emptied. */
  retryBlocked(): void {
    for (const session of this.blocked) {
      while (session.held.length > 0 && this.tryPut(session.writer, session.held[0]!)) session.held.shift();
      if (session.held.length === 0) {
        this.blocked.delete(session);
        session.releaseReads('ring');
      }
    }
    if (this.blocked.size > 0) this.scheduleRetry();
  }

  /** A closed socket's held events are dropped: none of them was acked, the client resends. */
  forget(session: StudentSession): void {
    if (this.blocked.delete(session)) {
      this.answered(session.held.length);
      session.held.length = 0;
    }
  }

  /** A writer answered `count` events of this actor (or held events were dropped). */
  answered(count: number): void {
    this.#inRings = Math.max(0, this.#inRings - count);
  }

  /** No event of this actor is on its way through a writer: the writers' batching has nothing to gain from the next one. */
  get ringsIdle(): boolean {
    return this.#inRings === 0;
  }

  /** Publishes every ring written since the last flush and rings those writers once. */
  flush(): void {
    this.flushScheduled = false;
    for (const writer of this.dirty) {
      this.producers[writer]!.publish();
      this.doorbells[writer]!.ring();
    }
    this.dirty.clear();
  }

  private tryPut(writer: number, envelope: EventEnvelope): boolean {
    const producer = this.producers[writer]!;
    const view = producer.tryReserve(eventRecordLength(envelope));
    if (view === null) return false;
    encodeEventRecord(envelope, view);
    this.forwarded += 1;
    this.dirty.add(writer);
    if (!this.flushScheduled) {
      // One publish and one wake-up per turn of the event loop, however many events it read.
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryBlocked();
    }, BLOCKED_RETRY_MS);
  }
}
