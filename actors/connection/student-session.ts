// One student's socket inside a connection actor: its phase, identity, session epoch, the events
// waiting for ring space, and the ack bookkeeping. Sending goes through here so closing is uniform.

import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { EventEnvelope } from '../../src/ring/event-record.js';
import { encodeAck, encodeErr, encodeNack, type ErrCode, type NackCode } from '../../src/protocol/server-frame.js';
import { EventRateLimiter } from './rate-limiter.js';
import type { WireTallies } from './wire-tallies.js';

/** hello: waiting for the hello frame; claiming: Redis is granting the session; live; closing. */
export type SessionPhase = 'hello' | 'claiming' | 'live' | 'closing';

/**
 * Why a socket is not being read: its claim in Redis, its events held behind a full ring, the
 * connection actor's own writes at their limit, a graceful stop. Each is lifted only by what set it.
 */
export type ReadHold = 'claim' | 'ring' | 'direct' | 'stop';
const HOLD_BIT: Record<ReadHold, number> = { claim: 1, ring: 2, direct: 4, stop: 8 };

export class StudentSession {
  phase: SessionPhase = 'hello';
  slot = 0;
  generation = 0;
  exam = '';
  student = '';
  epoch = 0;
  /** When this connection's hello reached the gateway, µs since the epoch: orders hellos (rule 7). */
  helloUs = 0;
  /** The hello asked for the student's stored answers (docs/PROTOCOL.md section 3, `resume`). */
  resume = false;
  /** The highest epoch announced for this student while this session's claim was in Redis. */
  newerEpochSeen = 0;
  bucket = 0;
  writer = 0;
  /** Events decoded but not yet in a ring because it was full; kept in seq order. */
  readonly held: EventEnvelope[] = [];
  /** Frames that arrived while the session was being claimed; handled right after welcome. */
  readonly early: string[] = [];
  /** Highest seq answered stored/duplicate and not yet acked on the wire. */
  pendingAck = 0;
  sentAck = 0;
  /** Highest seq answered stored/duplicate in the current dispatch round (0: none). */
  roundAck = 0;
  /** The `closed` frame goes out once per session, however many buckets announce the close. */
  closedSent = false;
  /** Events put into a ring and not yet answered by a writer. */
  inFlight = 0;
  /**
   * The lowest seq refused with `err rate_limited` and not yet resent. Until it comes back, later
   * seqs are refused too: storing one would make the cumulative ack cover the refused event, and
   * its resend would then be answered as a duplicate without ever being stored.
   */
  refusedFrom: number | null = null;
  /** Events refused because they came behind refusedFrom, since it was last refused (StudentGateway.handleEvent). */
  refusedBehind = 0;
  alive = true;
  /** A frame was read since the liveness sweep last visited (liveness-sweep.ts). */
  heard = false;
  /** The holder this session's presence entry is written under; '' when none is (presence-beacon.ts). */
  presenceHolder = '';
  /** Holds a place under gateway.maxUnwelcomed until its welcome is sent or it closes. */
  unwelcomed = true;
  helloTimer: NodeJS.Timeout | null = null;
  /**
   * This connection's story at info level (exam, student and address on every line), when its exam
   * is in log.traceExams; null otherwise, which costs one comparison per frame.
   */
  story: Logger | null = null;
  /** When the socket was accepted, ms since the epoch (for the story's timings). */
  readonly openedAt = Date.now();
  /** When its upgrade's 101 was written, performance.now() ms: the start of the wait for its hello. */
  upgradedAt = 0;
  /** When the hello was read, performance.now() ms: the start of the hello-to-welcome latency. */
  helloAt = 0;
  /** The code this server closed the socket with; null while the client closes first or nobody has. */
  closeCode: number | null = null;
  /**
   * When each forwarded event was read, performance.now() ms, in forwarding order: a writer answers
   * one ring in order (writer-loop.ts), so the next answer for this session is for receivedAt[receivedHead].
   * Indices wrap back to 0 when it empties, and the array keeps its length: no allocation per event.
   */
  private readonly receivedAt: number[] = [];
  /** The ReadHold bits set now; the socket is paused while any is. */
  private holds = 0;
  private receivedHead = 0;
  private receivedTail = 0;
  readonly limiter: EventRateLimiter;

  constructor(
    readonly ws: WebSocket,
    readonly remoteAddress: string,
    rate: { eventsPerSecond: number; burst: number },
    private readonly tallies: WireTallies,
    /** performance.now() ms when accepted, on the clock its rate limiter will be asked with. */
    acceptedAt: number = performance.now(),
  ) {
    this.limiter = new EventRateLimiter(rate.eventsPerSecond, rate.burst, acceptedAt);
  }

  get key(): string {
    return sessionKey(this.exam, this.student);
  }

  /**
   * Stops reading the socket until release(reason): TCP then pushes back on the client. A closing
   * socket is never held: its close reply must be read.
   */
  holdReads(reason: ReadHold): void {
    if (this.phase === 'closing') return;
    if (this.holds === 0) this.ws.pause();
    this.holds |= HOLD_BIT[reason];
  }

  /** Lifts `reason`; the socket reads on once nothing else holds it. */
  releaseReads(reason: ReadHold): void {
    if ((this.holds & HOLD_BIT[reason]) === 0) return;
    this.holds &= ~HOLD_BIT[reason];
    if (this.holds === 0) this.ws.resume();
  }

  /** Whether `reason` holds the socket now (status and tests). */
  readsHeldFor(reason: ReadHold): boolean {
    return (this.holds & HOLD_BIT[reason]) !== 0;
  }

  send(text: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  /** An event of this session went towards a writer, read at `at` (performance.now() ms). */
  noteReceived(at: number): void {
    this.receivedAt[this.receivedTail] = at;
    this.receivedTail += 1;
  }

  /**
   * When the event that a writer just answered was read; NaN for an answer with no event waiting
   * (a restarted writer answering again a batch it had answered). The queue empties whenever every
   * forwarded event is answered, so it stays as short as the session's events in flight.
   */
  takeReceived(): number {
    if (this.receivedHead === this.receivedTail) return Number.NaN;
    const at = this.receivedAt[this.receivedHead]!;
    this.receivedHead += 1;
    if (this.receivedHead === this.receivedTail) {
      this.receivedHead = 0;
      this.receivedTail = 0;
    }
    return at;
  }

  /**
   * Sends the coalesced cumulative ack of one dispatch round. A round that only answered resent
   * duplicates (all at or below what was already acked) still gets an ack: the protocol acks a
   * duplicate again, and the client that resent it waits for one.
   */
  flushAck(): boolean {
    const round = this.roundAck;
    this.roundAck = 0;
    if (round === 0) return false;
    if (this.pendingAck > this.sentAck) {
      this.sentAck = this.pendingAck;
      this.send(encodeAck(this.sentAck));
      this.story?.info({ seq: this.sentAck }, 'ack: stored up to this seq');
    } else {
      this.send(encodeAck(round));
      this.story?.info({ seq: round }, 'ack again: a resent event was already stored');
    }
    return true;
  }

  nack(seq: number, code: NackCode): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeNack(seq, code));
    this.tallies.nack(code);
    this.story?.info({ seq, code }, 'nack: the event will never be stored');
  }

  /** Sends an `err` frame and, when a close code is given, closes the socket after it. */
  fail(code: ErrCode, message: string, closeCode?: number): void {
    if (this.ws.readyState === this.ws.OPEN) {
      this.ws.send(encodeErr(code, message));
      this.tallies.err(code);
      this.story?.info({ code, msg: message }, 'err sent');
    }
    if (closeCode !== undefined) this.close(closeCode, message);
  }

  close(code: number, reason: string): void {
    if (this.phase === 'closing') return;
    this.phase = 'closing';
    this.closeCode = code;
    this.story?.info({ code, reason }, 'closing the connection');
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    // Close reasons are capped at 123 bytes by RFC 6455.
    this.ws.close(code, Buffer.from(reason).subarray(0, 120).toString());
    // A socket paused for a claim or for backpressure must be read again, or the client's close
    // reply is never seen and the handshake hangs until ws's close timeout. Later frames are ignored.
    this.holds = 0;
    this.ws.resume();
  }
}

export function sessionKey(exam: string, student: string): string {
  return `${exam}\n${student}`;
}
