// The claim path of a connection actor (docs/PROTOCOL.md section 3, rules 3 and 7): hellos claimed a
// read's worth at a time, the newest session of a student winning in Redis, and the older one replaced.

import type { Logger } from 'pino';
import { faults } from '../../src/actor-runtime/fault-injection.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import type { StoredAnswer } from '../../src/protocol/server-frame.js';
import type { BucketStore, SessionClaim } from '../../src/redis/bucket-store.js';
import type { SessionRegistry } from './session-registry.js';
import type { StudentSession } from './student-session.js';

export interface SessionClaimsDeps {
  store: BucketStore;
  /** One student's last stored answers, for a hello that asks to resume. */
  storedAnswers(exam: string, bucket: number, student: string): Promise<Map<string, StoredAnswer>>;
  registry: SessionRegistry;
  log: Logger;
  /** The session won its claim and is the student's live one: welcome it (`answers` null unless it asked to resume). */
  won(session: StudentSession, claim: SessionClaim, answers: Map<string, StoredAnswer> | null): void;
}

export class SessionClaims {
  /** Hellos read this turn of the event loop, claimed together once the turn's reads are done. */
  readonly #queue: StudentSession[] = [];
  #flushScheduled = false;
  readonly #deps: SessionClaimsDeps;

  constructor(deps: SessionClaimsDeps) {
    this.#deps = deps;
  }

  /** A hello with a valid token: the session (paused, phase `claiming`) is claimed after this read. */
  enqueue(session: StudentSession): void {
    this.#deps.registry.beginClaim(session);
    this.#queue.push(session);
    if (this.#flushScheduled) return;
    // Claims go out once the current read is done: a close frame that came in the same read as
    // the hello is seen first, and such a connection claims nothing (rule 7).
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /** A newer session of the same student exists somewhere: this one is told and closed. */
  replace(session: StudentSession): void {
    if (session.phase === 'closing') return;
    this.#deps.registry.remove(session);
    session.fail('replaced', 'a newer connection of this student took over', CloseCode.Replaced);
  }

  /** Another actor announced a claim: a live session of this student with an older epoch is replaced. */
  announced(exam: string, student: string, epoch: number): void {
    const stale = this.#deps.registry.announced(exam, student, epoch);
    if (stale !== undefined) this.replace(stale);
  }

  /**
   * Checks every live session against the epoch Redis holds now: announcements sent while the
   * subscriber was reconnecting are lost, and a superseded session must not wait for its next
   * write to learn it (rule 3).
   */
  async recheck(): Promise<void> {
    const sessions = [...this.#deps.registry.live()];
    if (sessions.length === 0) return;
    const epochs = await this.#deps.store.liveEpochs(sessions);
    sessions.forEach((session, index) => {
      if (session.phase === 'live' && epochs[index]! > session.epoch) this.replace(session);
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const session of this.#queue.splice(0)) void this.#claim(session);
  }

  async #claim(session: StudentSession): Promise<void> {
    if (faults.armed) await faults.reach('connection.claim');
    // A connection that is closing (its close frame read, or the socket gone) never supersedes
    // the student's live session: a student is never told `replaced` by their own dead connection.
    if (session.phase !== 'claiming' || session.ws.readyState !== session.ws.OPEN) {
      this.#deps.registry.endClaim(session);
      // Paused for the claim: read again, or the close handshake never completes and the socket
      // keeps its place under maxConnections until ws's close timeout.
      session.releaseReads('claim');
      return;
    }
    let claim;
    let answers = null;
    try {
      claim = await this.#deps.store.claimSession(session.exam, session.student, session.helloUs);
      if (faults.armed) await faults.reach('connection.claimReply');
      // Read before the welcome goes out: the answers frame must precede every ack of this connection.
      if (session.resume && !claim.stale) answers = await this.#deps.storedAnswers(session.exam, session.bucket, session.student);
    } catch (error) {
      this.#deps.registry.endClaim(session);
      this.#deps.log.warn({ err: error, exam: session.exam }, 'session claim failed');
      session.story?.warn({ err: error }, 'the session claim failed: Redis did not answer');
      session.fail('busy', 'the server cannot reach its store right now; reconnect shortly', CloseCode.TryAgainLater);
      return;
    }
    this.#deps.registry.endClaim(session);
    if (session.phase !== 'claiming') return; // the socket closed while Redis answered
    // Stale: a newer hello of this student is live (rule 7). Superseded: a newer session was
    // claimed after this one and its announcement overtook this reply. Either way this
    // connection is the older one and never goes live.
    if (claim.stale || session.newerEpochSeen > claim.epoch) {
      session.story?.info({ epoch: claim.epoch }, 'a newer connection of this student claimed the session first');
      this.#supersede(session);
      return;
    }
    session.epoch = claim.epoch;
    session.closedSent = claim.closed;
    const previous = this.#deps.registry.claim(session);
    if (previous === session) {
      this.#supersede(session);
      return;
    }
    if (previous !== undefined) {
      previous.story?.info('replaced by a newer connection of the same student');
      this.replace(previous);
    }
    this.#deps.won(session, claim, answers);
  }

  /** A connection whose claim lost to a newer session: told `replaced`, closed 4409, never welcomed. */
  #supersede(session: StudentSession): void {
    session.fail('replaced', 'a newer connection of this student is live; this one is closed', CloseCode.Replaced);
  }
}
