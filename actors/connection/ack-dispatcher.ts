// Reads the writers' answers from the ack rings and turns them into what students see:
// coalesced cumulative acks, nacks, and `replaced` for events that came through a stale session.

import { WriteOutcome } from '../../src/events/answer-event.js';
import { decodeAckRecord, type AckEnvelope } from '../../src/ring/ack-record.js';
import { Doorbell } from '../../src/ring/doorbell.js';
import type { NackCode } from '../../src/protocol/server-frame.js';
import { RingConsumer } from '../../src/ring/ring-consumer.js';
import type { SlotTable } from './slot-table.js';
import type { StudentSession } from './student-session.js';
import type { WireTallies } from './wire-tallies.js';

/**
 * The doorbell wakes the dispatcher for every batch of answers; the timeout is only a safety net
 * (a writer that died between publishing acks and ringing). 50 ms woke every idle actor 20 times a
 * second for nothing; a second bounds how long such acks could wait.
 */
const IDLE_WAIT_MS = 1_000;
/**
 * Answers handled per ring per turn of the loop. Each may mean an ack frame, a syscall of ~100 µs
 * on this machine: 1,024 bounds a turn near 100 ms, so the reads and pings of other sockets are not
 * held up behind a whole ring of acks; the next turn follows at once.
 */
const READ_LIMIT = 1024;

export interface AckDispatcherHooks {
  /** The session was replaced by a newer hello somewhere; close it with 4409. */
  replaced(session: StudentSession): void;
  /** The writer could not store an event of this session for now: err busy, close 1013. */
  unavailable(session: StudentSession): void;
  /** Ack rings had room freed: held events may now fit in the event rings too. */
  afterDispatch(): void;
  /** A writer answered this many events of this incarnation (whether or not their sockets are still open). */
  ringAnswered(count: number): void;
}

export class AckDispatcher {
  private readonly consumers: RingConsumer[];
  private readonly doorbell: Doorbell;
  private readonly touched = new Set<StudentSession>();
  /**
   * When each event answered stored or duplicate this round was read: its ack goes out at the round's
   * end. Emptied by resetting the count, not the length, so the round allocates nothing.
   */
  private readonly ackedReceivedAt: number[] = [];
  private acked = 0;
  /** Answers of this round addressed to this incarnation. */
  private ownAnswers = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  acksSent = 0;
  nacksSent = 0;

  constructor(
    ackRings: SharedArrayBuffer[],
    doorbell: SharedArrayBuffer,
    private readonly incarnation: number,
    private readonly slots: SlotTable<StudentSession>,
    private readonly hooks: AckDispatcherHooks,
    private readonly tallies: WireTallies,
  ) {
    this.consumers = ackRings.map((sab) => new RingConsumer(sab));
    this.doorbell = new Doorbell(doorbell);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.doorbell.ring();
    await this.loop;
  }

  /** Handles every answer now in the rings; returns how many there were. */
  dispatch(): number {
    let handled = 0;
    this.ownAnswers = 0;
    for (const consumer of this.consumers) {
      handled += consumer.read((record) => this.route(decodeAckRecord(record)), READ_LIMIT);
      consumer.release(consumer.position());
    }
    this.endRound();
    if (this.ownAnswers > 0) this.hooks.ringAnswered(this.ownAnswers);
    if (handled > 0) this.hooks.afterDispatch();
    return handled;
  }

  /**
   * Redis's answers to a connection actor's own write (direct-writes.ts), in the session's order:
   * the same acks, nacks and replacement as answers from a writer. Its events are already out of
   * the session's count in flight.
   */
  answerDirect(session: StudentSession, seqs: readonly number[], outcomes: readonly WriteOutcome[]): void {
    for (let index = 0; index < seqs.length; index += 1) this.answer(session, seqs[index]!, outcomes[index]!);
    this.endRound();
  }

  /** The round's cumulative acks written, one per session touched, and their latencies counted. */
  private endRound(): void {
    for (const session of this.touched) if (session.flushAck()) this.acksSent += 1;
    this.touched.clear();
    if (this.acked > 0) {
      // One clock read per round: every ack of the round was just written to its socket.
      const sentAt = performance.now();
      for (let index = 0; index < this.acked; index += 1) this.tallies.ackLatency(sentAt - this.ackedReceivedAt[index]!);
      this.acked = 0;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const seen = this.doorbell.snapshot();
      if (this.dispatch() === 0) await this.doorbell.wait(seen, IDLE_WAIT_MS);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private route(ack: AckEnvelope): void {
    // Answers for a previous incarnation of this actor address sockets that died with it.
    if (ack.incarnation !== this.incarnation) return;
    this.ownAnswers += 1;
    const session = this.slots.get(ack.slot, ack.generation);
    if (session === undefined) return;
    session.inFlight -= 1;
    this.answer(session, ack.seq, ack.outcome);
  }

  private answer(session: StudentSession, seq: number, outcome: WriteOutcome): void {
    const receivedAt = session.takeReceived();
    switch (outcome) {
      case WriteOutcome.Stored:
      case WriteOutcome.Duplicate:
        // Every event answered stored/duplicate this round is covered by the round's cumulative ack.
        if (!Number.isNaN(receivedAt)) {
          this.ackedReceivedAt[this.acked] = receivedAt;
          this.acked += 1;
        }
        if (seq > session.pendingAck) session.pendingAck = seq;
        if (seq > session.roundAck) session.roundAck = seq;
        this.touched.add(session);
        return;
      case WriteOutcome.ExamClosed:
        return this.nack(session, seq, 'exam_closed');
      case WriteOutcome.Submitted:
        return this.nack(session, seq, 'submitted');
      case WriteOutcome.BadEvent:
        // The writer isolated this event as the one its write raised on: it is never stored.
        return this.nack(session, seq, 'bad_event');
      case WriteOutcome.StaleSession:
        this.hooks.replaced(session);
        return;
      case WriteOutcome.Unavailable:
        // Its shard is failing over or cannot confirm replicas: nothing later of this session is
        // stored (the writer answers those Unavailable too), and the reconnect resends from lastSeq.
        this.hooks.unavailable(session);
        return;
      default: {
        const unreachable: never = outcome;
        throw new Error(`unknown write outcome ${String(unreachable)}`);
      }
    }
  }

  /** A refused event: the student is told why, and the refusal counted. */
  private nack(session: StudentSession, seq: number, code: NackCode): void {
    session.nack(seq, code);
    this.nacksSent += 1;
  }
}
