// The student protocol inside one connection actor (docs/PROTOCOL.md section 3): hello and welcome,
// events into the rings, nacks for bad events, rate limits, replacement, and liveness pings.

import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { faults } from '../../src/actor-runtime/fault-injection.js';
import { TokenError } from '../../src/errors.js';
import { verifyStudentToken } from '../../src/auth/student-token.js';
import { decodeClientFrame } from '../../src/protocol/client-frame.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { encodeAnswers, encodeClosed, encodeWelcome } from '../../src/protocol/server-frame.js';
import { bucketOf } from '../../src/redis/bucket-keys.js';
import { wallClockMicros, type BucketStore, type SessionClaim } from '../../src/redis/bucket-store.js';
import type { StoredAnswer } from '../../src/protocol/server-frame.js';
import { MAX_SEND_WINDOW } from '../../src/protocol/send-window.js';
import type { EventForwarder } from './event-forwarder.js';
import { LivenessSweep } from './liveness-sweep.js';
import type { ConnectionLimits } from './protocol.js';
import { SessionClaims } from './session-claims.js';
import type { SessionRegistry } from './session-registry.js';
import type { SlotTable } from './slot-table.js';
import { StudentSession } from './student-session.js';
import type { WireTallies } from './wire-tallies.js';
import { TurnClock } from '../../src/telemetry/turn-clock.js';

export interface StudentGatewayDeps {
  incarnation: number;
  buckets: number;
  writers: number;
  authSecret: string;
  limits: ConnectionLimits;
  store: BucketStore;
  /** One student's last stored answers, for a hello that asks to resume. */
  storedAnswers(exam: string, bucket: number, student: string): Promise<Map<string, StoredAnswer>>;
  forwarder: EventForwarder;
  registry: SessionRegistry;
  slots: SlotTable<StudentSession>;
  /** Latency histograms and frame counts of this actor (wire-tallies.ts). */
  tallies: WireTallies;
  log: Logger;
  /** log.traceExams: exams whose connections tell their story at info level. */
  traceExams: ReadonlySet<string>;
  /** Called once per socket when it is gone, so the listener can release its connection counts. */
  released(session: StudentSession): void;
  /** Called once per socket, at its welcome or at its close if it never was welcomed. */
  welcomed(session: StudentSession): void;
  /** The rate limits' clock, performance.now() ms; tests pass a fake one. */
  now?: () => number;
}

export class StudentGateway {
  private readonly liveness: LivenessSweep<StudentSession>;
  private accepting = true;
  /** Hellos claimed in Redis, the older session of a student replaced (session-claims.ts). */
  private readonly claims: SessionClaims;
  /** When the events of this turn were read: the start of their ack latency. */
  private readonly clock = new TurnClock();
  private readonly now: () => number;

  constructor(private readonly deps: StudentGatewayDeps) {
    this.liveness = new LivenessSweep(deps.slots, deps.limits.pingIntervalMs);
    this.now = deps.now ?? (() => performance.now());
    this.claims = new SessionClaims({
      store: deps.store,
      storedAnswers: (exam, bucket, student) => deps.storedAnswers(exam, bucket, student),
      registry: deps.registry,
      log: deps.log,
      won: (session, claim, answers) => this.welcome(session, claim, answers),
    });
  }

  start(): void {
    this.liveness.start();
  }

  stop(): void {
    this.liveness.stop();
  }

  /** Stops reading from every socket: used by a graceful shutdown before the last acks. */
  quiesce(): void {
    this.accepting = false;
    for (const session of this.deps.slots.values()) session.holdReads('stop');
  }

  /** Sessions that still wait for a writer's answer. */
  inFlight(): number {
    let total = 0;
    for (const session of this.deps.slots.values()) total += session.inFlight;
    return total;
  }

  closeAll(code: number, reason: string): void {
    for (const session of this.deps.slots.values()) session.close(code, reason);
  }

  /**
   * A socket upgraded just now, its connection accepted at `acceptedAt` and its 101 written right
   * after `upgradedAt` (performance.now() ms).
   */
  accept(ws: WebSocket, remoteAddress: string, acceptedAt: number, upgradedAt: number): void {
    this.deps.tallies.upgradeLatency(upgradedAt - acceptedAt);
    const session = new StudentSession(ws, remoteAddress, this.deps.limits.rateLimit, this.deps.tallies, this.now());
    session.upgradedAt = upgradedAt;
    const { slot, generation } = this.deps.slots.add(session);
    session.slot = slot;
    session.generation = generation;
    session.helloTimer = setTimeout(() => session.close(CloseCode.HelloTimeout, 'no hello in time'), this.deps.limits.helloTimeoutMs);
    ws.on('message', (data, isBinary) => this.onMessage(session, data, isBinary));
    ws.on('pong', () => {
      session.alive = true;
    });
    ws.on('error', (error) => this.deps.log.debug({ err: error, student: session.student }, 'socket error'));
    ws.once('close', (code: number) => {
      session.story?.info({ code, sessionMs: Date.now() - session.openedAt }, 'socket closed');
      this.onClose(session, code);
    });
  }

  /** A newer session of the same student exists somewhere: this one is told and closed. */
  replace(session: StudentSession): void {
    this.claims.replace(session);
  }

  /**
   * An event of this session could not be stored now (its Redis Cluster shard is failing over or
   * cannot confirm replicas). The client reconnects with backoff and resends from lastSeq (rule 6).
   */
  unavailable(session: StudentSession): void {
    if (session.phase === 'closing') return;
    session.fail('busy', 'your answers cannot be stored for a moment; reconnect shortly and resend', CloseCode.TryAgainLater);
  }

  /** Another actor claimed this student's session (session-watch.ts): an older live one here is replaced. */
  sessionClaimed(exam: string, student: string, epoch: number): void {
    this.claims.announced(exam, student, epoch);
  }

  /** After the session watch reconnects: every live session is checked against Redis (rule 3). */
  recheckSessions(): Promise<void> {
    return this.claims.recheck();
  }

  examClosed(exam: string): void {
    const frame = encodeClosed();
    for (const session of this.deps.registry.ofExam(exam)) {
      if (session.closedSent) continue;
      session.closedSent = true;
      session.send(frame);
    }
  }

  private onMessage(session: StudentSession, data: RawData, isBinary: boolean): void {
    session.heard = true;
    if (session.phase === 'closing') return;
    if (isBinary) {
      session.close(CloseCode.ProtocolViolation, 'binary frames are not part of the protocol');
      return;
    }
    const text = data.toString();
    if (session.phase === 'claiming') {
      session.early.push(text);
      return;
    }
    this.handleText(session, text);
  }

  private handleText(session: StudentSession, text: string): void {
    const frame = decodeClientFrame(text, { maxValueBytes: this.deps.limits.maxValueBytes });
    switch (frame.type) {
      case 'violation':
        session.close(CloseCode.ProtocolViolation, frame.reason);
        return;
      case 'hello':
        if (session.phase !== 'hello') session.close(CloseCode.ProtocolViolation, 'second hello on a live connection');
        else this.handleHello(session, frame.token, frame.resume);
        return;
      case 'bad_event':
      case 'event':
        if (session.phase !== 'live') {
          session.close(CloseCode.ProtocolViolation, 'the first frame must be hello');
          return;
        }
        if (frame.type === 'bad_event') this.handleBadEvent(session, frame.seq);
        else this.handleEvent(session, frame);
        return;
      default: {
        const unreachable: never = frame;
        throw new Error(`unhandled frame ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private handleHello(session: StudentSession, token: string, resume: boolean): void {
    session.resume = resume;
    // The receive time orders this hello against the student's other connections (rule 7).
    session.helloUs = wallClockMicros();
    session.helloAt = performance.now();
    this.deps.tallies.helloWait(session.helloAt - session.upgradedAt);
    if (session.helloTimer !== null) clearTimeout(session.helloTimer);
    session.helloTimer = null;
    let claims;
    try {
      claims = verifyStudentToken(this.deps.authSecret, token);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      // Only a token whose signature held names its student: anything else is not believed.
      const signed = error.signedFor;
      if (signed !== null && this.deps.traceExams.has(signed.exam)) {
        session.story = this.deps.log.child({ exam: signed.exam, student: signed.student, address: session.remoteAddress });
        session.story.info({ reason: error.reason }, 'hello refused: the token has expired; issue a new one');
      }
      session.fail('unauthorized', `token refused (${error.reason}); ask for a new one`, CloseCode.BadToken);
      return;
    }
    session.phase = 'claiming';
    session.exam = claims.exam;
    session.student = claims.student;
    if (this.deps.traceExams.has(claims.exam)) {
      session.story = this.deps.log.child({ exam: claims.exam, student: claims.student, address: session.remoteAddress });
      session.story.info({ resume, connectedMs: Date.now() - session.openedAt }, 'hello: token valid, claiming the session');
    }
    session.bucket = bucketOf(claims.exam, claims.student, this.deps.buckets);
    session.writer = session.bucket % this.deps.writers;
    session.holdReads('claim');
    this.claims.enqueue(session);
  }

  /** The session won its claim: live, welcomed, told its stored answers if it asked, and its early frames handled. */
  private welcome(session: StudentSession, claim: SessionClaim, answers: Map<string, StoredAnswer> | null): void {
    session.phase = 'live';
    session.story?.info({ epoch: claim.epoch, lastSeq: claim.lastSeq, state: claim.closed ? 'closed' : 'open', answers: answers?.size ?? null }, 'welcome');
    this.leaveUnwelcomed(session);
    session.send(
      encodeWelcome({
        exam: session.exam,
        student: session.student,
        lastSeq: claim.lastSeq,
        state: claim.closed ? 'closed' : 'open',
        serverTime: Date.now(),
      }),
    );
    if (session.ws.readyState === session.ws.OPEN) this.deps.tallies.welcomeLatency(performance.now() - session.helloAt);
    if (answers !== null) session.send(encodeAnswers({ answers, submitted: claim.submitted }));
    for (const text of session.early.splice(0)) {
      if (session.phase !== 'live') break;
      this.handleText(session, text);
    }
    // Its early frames may have held it behind a full ring or the actor's own writes: those resume it.
    session.releaseReads('claim');
  }

  /**
   * A bad event is metered like any event: unmetered, a client that never reads could make the
   * server queue nacks without end (551k of them grew the process by 139 MiB in 8 s). Refusing one
   * sets no refusedFrom: it will never be stored, so no later ack can wrongly cover it.
   */
  private handleBadEvent(session: StudentSession, seq: number): void {
    if (session.limiter.tryTake(this.now())) {
      session.nack(seq, 'bad_event');
      return;
    }
    if (session.limiter.strikes >= this.deps.limits.rateLimit.abuseStrikes) {
      session.fail('rate_limited', 'too many events for too long', CloseCode.RateAbuse);
    } else {
      session.fail('rate_limited', `event ${seq} was not looked at; slow down`);
    }
  }

  private handleEvent(session: StudentSession, frame: Extract<ReturnType<typeof decodeClientFrame>, { type: 'event' }>): void {
    const { abuseStrikes } = this.deps.limits.rateLimit;
    if (session.refusedFrom !== null && frame.seq > session.refusedFrom) {
      // Behind a refused event: refused too (storing it would let its ack cover the refused one).
      // A client with a send window had up to MAX_SEND_WINDOW of these on the wire before it could
      // read the refusal; only a client that keeps sending past that is abusing.
      session.refusedBehind += 1;
      if (session.refusedBehind > MAX_SEND_WINDOW && session.limiter.strike() >= abuseStrikes) {
        session.fail('rate_limited', 'too many events for too long', CloseCode.RateAbuse);
      } else {
        session.fail('rate_limited', `event ${frame.seq} was not stored: resend from seq ${session.refusedFrom} first`);
      }
      return;
    }
    if (!session.limiter.tryTake(this.now())) {
      session.refusedFrom = Math.min(session.refusedFrom ?? frame.seq, frame.seq);
      // A new refusal of the oldest unstored event: what the client sent behind it is a new window.
      session.refusedBehind = 0;
      if (session.limiter.strikes >= abuseStrikes) {
        session.fail('rate_limited', 'too many events for too long', CloseCode.RateAbuse);
      } else {
        session.fail('rate_limited', `event ${frame.seq} was not stored; slow down and resend it`);
      }
      return;
    }
    if (session.refusedFrom === frame.seq) session.refusedFrom = null;
    if (faults.armed) faults.hit('connection.event');
    session.noteReceived(this.clock.now());
    session.story?.info({ seq: frame.seq, kind: frame.kind, question: frame.question }, 'event received, on its way to Redis');
    this.deps.forwarder.forward(session, {
      slot: session.slot,
      generation: session.generation,
      incarnation: this.deps.incarnation,
      epoch: session.epoch,
      bucket: session.bucket,
      event: {
        exam: session.exam,
        student: session.student,
        seq: frame.seq,
        kind: frame.kind,
        question: frame.question,
        value: frame.value,
        clientTs: frame.clientTs,
        serverTs: Date.now(),
      },
    });
  }

  /** Sockets upgraded and not yet welcomed, for status. */
  unwelcomedCount(): number {
    let count = 0;
    for (const session of this.deps.slots.values()) if (session.unwelcomed) count += 1;
    return count;
  }

  private leaveUnwelcomed(session: StudentSession): void {
    if (!session.unwelcomed) return;
    session.unwelcomed = false;
    this.deps.welcomed(session);
  }

  /** `code`: what the client's close frame said (1006 when the socket dropped without one). */
  private onClose(session: StudentSession, code: number): void {
    this.deps.tallies.closed(session.closeCode ?? code);
    if (session.helloTimer !== null) clearTimeout(session.helloTimer);
    session.phase = 'closing';
    this.leaveUnwelcomed(session);
    this.deps.registry.remove(session);
    this.deps.forwarder.forget(session);
    this.deps.slots.remove(session.slot, session.generation);
    this.deps.released(session);
  }

  get isAccepting(): boolean {
    return this.accepting;
  }
}
