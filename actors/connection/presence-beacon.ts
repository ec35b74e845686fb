// Tells Redis which students this connection actor holds a live session for (the per-bucket
// presence sets behind `connected`): batched every presence.refreshMs, one call per bucket.

import type { Logger } from 'pino';
import type { PresenceEntry, PresenceStore, PresenceUpdate } from '../../src/redis/presence-store.js';
import type { StudentSession } from './student-session.js';

/** What the beacon reads and marks of a session (a StudentSession has it all). */
export type PresentSession = Pick<StudentSession, 'phase' | 'exam' | 'bucket' | 'student' | 'presenceExpiresAt'>;

/** The actor's live sessions (its SessionRegistry); a benchmark can stand in thousands of them. */
export interface LiveSessions {
  live(): Iterable<PresentSession>;
}

export interface PresenceTiming {
  refreshMs: number;
  ttlMs: number;
}

interface Leaving extends PresenceEntry {
  exam: string;
  bucket: number;
}

interface BucketRound {
  update: PresenceUpdate & { join: PresenceEntry[]; leave: PresenceEntry[] };
  joined: PresentSession[];
  leaving: Leaving[];
}

/**
 * Writing every session every round would cost Redis (and its AOF) one entry per student per
 * refresh; an entry is rewritten only once half its ttl is gone, so each student costs one entry
 * per ttl/2 while a late round still finds it present. A new session is written at the next round,
 * a closed one removed at the next round: both within refreshMs.
 */
export class PresenceBeacon {
  private timer: NodeJS.Timeout | null = null;
  private leaving: Leaving[] = [];
  private round: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly registry: LiveSessions,
    private readonly store: PresenceStore,
    private readonly timing: PresenceTiming,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.timing.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The session's socket is gone: its entry is removed at the next round, if it was written. */
  left(session: PresentSession): void {
    if (session.presenceExpiresAt === 0) return;
    this.leaving.push({ exam: session.exam, bucket: session.bucket, student: session.student, expiresAt: session.presenceExpiresAt });
    session.presenceExpiresAt = 0;
  }

  /** At a stop: every entry this actor wrote goes now, rather than when its ttl runs out. */
  async leaveAll(): Promise<void> {
    for (const session of this.registry.live()) this.left(session);
    await this.flush();
  }

  /** One round: joins, refreshes and leaves, one call per bucket; a round still running is joined, not doubled. */
  flush(now: number = Date.now()): Promise<void> {
    this.round ??= this.runRound(now).finally(() => {
      this.round = null;
    });
    return this.round;
  }

  private async runRound(now: number): Promise<void> {
    const rounds = new Map<string, BucketRound>();
    const roundOf = (exam: string, bucket: number): BucketRound => {
      const key = `${exam}\n${bucket}`;
      let round = rounds.get(key);
      if (round === undefined) {
        round = { update: { exam, bucket, join: [], leave: [] }, joined: [], leaving: [] };
        rounds.set(key, round);
      }
      return round;
    };
    for (const entry of this.leaving.splice(0)) {
      const round = roundOf(entry.exam, entry.bucket);
      round.update.leave.push(entry);
      round.leaving.push(entry);
    }
    const renewBefore = now + this.timing.ttlMs / 2;
    for (const session of this.registry.live()) {
      if (session.phase !== 'live' || session.presenceExpiresAt > renewBefore) continue;
      session.presenceExpiresAt = now + this.timing.ttlMs;
      const round = roundOf(session.exam, session.bucket);
      round.update.join.push({ student: session.student, expiresAt: session.presenceExpiresAt });
      round.joined.push(session);
    }
    if (rounds.size === 0) return;
    const results = await Promise.allSettled([...rounds.values()].map((round) => this.store.apply(round.update, now)));
    let failed = 0;
    let firstError: unknown = null;
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') return;
      failed += 1;
      firstError ??= result.reason;
      const round = [...rounds.values()][index]!;
      // Not known to be written: written again next round. A leave is retried while its entry could
      // still count (removing an entry that is no longer ours changes nothing).
      round.update.join.forEach((entry, i) => {
        const session = round.joined[i]!;
        if (session.presenceExpiresAt === entry.expiresAt) session.presenceExpiresAt = 0;
      });
      for (const entry of round.leaving) if (entry.expiresAt > Date.now()) this.leaving.push(entry);
    });
    if (failed > 0) {
      this.failing = true;
      this.log.warn({ err: firstError, buckets: failed }, 'presence refresh failed; `connected` may read low until Redis answers again');
    } else if (this.failing) {
      this.failing = false;
      this.log.info('presence refresh works again');
    }
  }
}
