// Tells Redis which students this connection actor holds a live session for (the presence behind
// `connected`): arrivals and departures once each, plus one heartbeat per bucket, every refreshMs.

import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { PresenceEntry, PresenceStore, PresenceUpdate } from '../../src/redis/presence-store.js';
import type { StudentSession } from './student-session.js';
import { WakeableInterval } from './wakeable-interval.js';

/** What the beacon reads and marks of a session (a StudentSession has it all). */
export type PresentSession = Pick<StudentSession, 'phase' | 'exam' | 'bucket' | 'student' | 'epoch' | 'presenceHolder'>;

/** The actor's live sessions (its SessionRegistry); a benchmark can stand in thousands of them. */
export interface LiveSessions {
  live(): Iterable<PresentSession>;
}

/**
 * The actor's sockets (its SlotTable): while it holds none and Redis has been told all there is, the
 * beacon's timer sleeps, so a server nobody is connected to is not woken every refreshMs for nothing.
 */
export interface HeldSockets {
  readonly size: number;
  onOccupied(listener: () => void): void;
}

export interface PresenceTiming {
  refreshMs: number;
  ttlMs: number;
}

/** presenceHolder of a session whose student opened a newer session elsewhere: never written again. */
export const SUPERSEDED = '!superseded';

/** This actor's standing in one bucket: the holder its entries name, and that holder's heartbeat. */
interface BucketHolder {
  exam: string;
  bucket: number;
  holder: string;
  /** The serial of the last call Redis answered (0: none yet). */
  serial: number;
  /** The heartbeat Redis has, ms since the epoch (0: none). */
  expiresAt: number;
  /** Abandoned holders to remove at the next call. */
  retire: string[];
  /** Sessions written under `holder` that closed since the last call. */
  leaving: PresenceEntry[];
}

interface BucketCall {
  state: BucketHolder;
  update: PresenceUpdate & { join: PresenceEntry[] };
  joined: PresentSession[];
}

/**
 * A student's entry is written once when the session opens and removed once when it closes; what
 * is refreshed is one holder record per bucket, once half the ttl is gone. So the AOF grows with
 * arrivals and departures and with buckets x actors, not with students x time (bench/presence.scale.ts).
 * If Redis answers that a call of this holder is missing (it lost its last writes) or a call fails
 * without telling what it wrote, the actor drops that holder and writes its students again under a
 * new one: what it held can no longer count, what it holds now is written whole.
 */
export class PresenceBeacon {
  private readonly timer: WakeableInterval;
  private readonly holders = new Map<string, BucketHolder>();
  private readonly run = `${randomBytes(6).toString('base64url')}`;
  private holderCount = 0;
  private round: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly registry: LiveSessions,
    private readonly store: PresenceStore,
    private readonly timing: PresenceTiming,
    private readonly log: Logger,
    /** Names this actor in holder ids (readable in Redis), e.g. `connection-0`. */
    private readonly actorName = 'conn',
    /** Absent (benchmarks standing in sessions without sockets): the timer never sleeps. */
    private readonly sockets?: HeldSockets,
  ) {
    this.timer = new WakeableInterval(timing.refreshMs, () => void this.flush(), () => this.settled);
    sockets?.onOccupied(() => this.timer.wake());
  }

  start(): void {
    this.timer.start();
  }

  stop(): void {
    this.stopped = true;
    this.timer.stop();
  }

  /** True while the refresh timer runs (for tests). */
  get ticking(): boolean {
    return this.timer.ticking;
  }

  /** Nothing held and nothing owed to Redis: every holder was retired or emptied and dropped. */
  private get settled(): boolean {
    return this.sockets !== undefined && this.sockets.size === 0 && this.holders.size === 0;
  }

  /** The session's socket is gone: its entry is removed at the next round, if it was written. */
  left(session: PresentSession): void {
    const holder = session.presenceHolder;
    session.presenceHolder = '';
    if (holder === '' || holder === SUPERSEDED) return;
    const state = this.holders.get(bucketId(session.exam, session.bucket));
    // An entry under an abandoned holder no longer counts: nothing to remove.
    if (state !== undefined && state.holder === holder) state.leaving.push({ student: session.student, epoch: session.epoch });
  }

  /**
   * At a stop: each bucket's holder retires, which ends the count of every entry it wrote in one
   * step (the entries stay, counted by nobody, until the keys expire or a new session replaces them).
   */
  async leaveAll(): Promise<void> {
    this.stop();
    await this.round;
    const now = Date.now();
    const calls = [...this.holders.values()]
      .filter((state) => state.serial > 0 || state.retire.length > 0)
      .map((state) =>
        this.store.apply({ exam: state.exam, bucket: state.bucket, holder: state.holder, serial: state.serial + 1, expiresAt: now, retire: [...state.retire, state.holder], join: [], leave: [] }, now),
      );
    this.holders.clear();
    const results = await Promise.allSettled(calls);
    const failed = results.filter((result) => result.status === 'rejected').length;
    if (failed > 0) this.log.warn({ buckets: failed }, `presence: ${failed} buckets could not be told this actor is leaving; its students stop counting within ${this.timing.ttlMs} ms`);
  }

  /** One round; a round still running is followed by one more, not doubled. */
  flush(now?: number): Promise<void> {
    if (this.stopped && now === undefined) return this.round ?? Promise.resolve();
    if (this.round !== null) {
      this.again = true;
      return this.round;
    }
    this.round = this.runRound(now ?? Date.now()).finally(() => {
      this.round = null;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.flush();
      } else if (this.settled) {
        // A socket that arrives later wakes the timer again (HeldSockets.onOccupied).
        this.timer.sleep();
      }
    });
    return this.round;
  }

  private async runRound(now: number): Promise<void> {
    const calls = new Map<BucketHolder, BucketCall>();
    const callOf = (state: BucketHolder): BucketCall => {
      let call = calls.get(state);
      if (call === undefined) {
        call = { state, update: { exam: state.exam, bucket: state.bucket, holder: state.holder, serial: state.serial + 1, expiresAt: now + this.timing.ttlMs, join: [], leave: [] }, joined: [] };
        calls.set(state, call);
      }
      return call;
    };
    const held = new Set<BucketHolder>();
    for (const session of this.registry.live()) {
      if (session.presenceHolder === SUPERSEDED) continue;
      if (session.presenceHolder !== '') {
        const current = this.holders.get(bucketId(session.exam, session.bucket));
        if (current !== undefined && current.holder === session.presenceHolder) {
          held.add(current);
          continue;
        }
      }
      if (session.phase !== 'live') continue;
      const state = this.stateOf(session.exam, session.bucket);
      // Marked before the call, so a close during it queues the leave that follows this join.
      session.presenceHolder = state.holder;
      const call = callOf(state);
      call.update.join.push({ student: session.student, epoch: session.epoch });
      call.joined.push(session);
    }
    const renewBefore = now + this.timing.ttlMs / 2;
    for (const [id, state] of this.holders) {
      const heartbeatDue = held.has(state) && state.expiresAt <= renewBefore;
      if (state.leaving.length > 0 || state.retire.length > 0 || heartbeatDue) callOf(state);
      else if (!calls.has(state) && !held.has(state)) this.holders.delete(id);
    }
    for (const call of calls.values()) {
      call.update.leave = call.state.leaving.splice(0);
      if (call.state.retire.length > 0) call.update.retire = [...call.state.retire];
    }
    if (calls.size === 0) return;
    const list = [...calls.values()];
    const results = await Promise.allSettled(list.map((call) => this.store.apply(call.update, now)));
    let failed = 0;
    let resyncs = 0;
    let firstError: unknown = null;
    results.forEach((result, index) => {
      const { state, update, joined } = list[index]!;
      if (result.status === 'fulfilled') {
        state.serial = update.serial;
        state.expiresAt = update.expiresAt;
        // Retired in Redis now; a renew during the call may have added another since.
        if (update.retire !== undefined) state.retire = state.retire.filter((holder) => !update.retire!.includes(holder));
        for (const position of result.value.refused) {
          const session = joined[position]!;
          if (session.presenceHolder === state.holder) session.presenceHolder = SUPERSEDED;
        }
        if (!result.value.resync) return;
        resyncs += 1;
      } else {
        failed += 1;
        firstError ??= result.reason;
      }
      // What this holder has in Redis is unknown or incomplete: a new holder writes it all again.
      this.renew(state);
    });
    if (failed > 0) {
      this.failing = true;
      this.log.warn({ err: firstError, buckets: failed }, 'presence refresh failed; `connected` may read low until Redis answers again');
    } else if (this.failing) {
      this.failing = false;
      this.log.info('presence refresh works again');
    }
    if (resyncs > 0) this.log.warn({ buckets: resyncs }, 'presence: Redis lost some of this actor\'s presence writes (a restart or failover); writing its students again');
    if (failed === 0 && resyncs > 0) this.again = true;
  }

  private stateOf(exam: string, bucket: number): BucketHolder {
    const id = bucketId(exam, bucket);
    let state = this.holders.get(id);
    if (state === undefined) {
      state = { exam, bucket, holder: this.nextHolder(), serial: 0, expiresAt: 0, retire: [], leaving: [] };
      this.holders.set(id, state);
    }
    return state;
  }

  private renew(state: BucketHolder): void {
    // The old holder's serial may be ahead of what Redis has; retiring it by name needs no serial.
    state.retire.push(state.holder);
    state.holder = this.nextHolder();
    state.serial = 0;
    state.expiresAt = 0;
    state.leaving.length = 0;
  }

  private nextHolder(): string {
    this.holderCount += 1;
    return `${this.actorName}.${this.run}.${this.holderCount.toString(36)}`;
  }
}

function bucketId(exam: string, bucket: number): string {
  return `${exam}\n${bucket}`;
}
