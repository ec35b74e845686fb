// Writes the presence behind `connected` (`ux:{<exam>:<bucket>}:present` and `:holders`): one
// ux_presence call per bucket carries a connection actor's arrivals, departures and heartbeat.

import { RedisScriptError } from '../errors.js';
import { bucketKeys } from './bucket-keys.js';
import { callFunction, describe } from './bucket-store.js';
import type { RedisClient } from './redis-client.js';

/** One student's live session, as a connection actor announces it: the epoch identifies the session. */
export interface PresenceEntry {
  student: string;
  epoch: number;
}

export interface PresenceUpdate {
  exam: string;
  bucket: number;
  /**
   * The connection actor run writing (an id of [A-Za-z0-9_.-], at most 64 characters). Its
   * students count as connected until `expiresAt`, the holder's heartbeat.
   */
  holder: string;
  /** 1 for a holder's first call, then one more per call: a gap tells Redis lost some of its writes. */
  serial: number;
  /** ms since the epoch. */
  expiresAt: number;
  /** Holders this actor abandoned (or itself, at a stop): their entries stop counting at once. */
  retire?: readonly string[];
  /** Sessions that opened (or are written again under a new holder). */
  join: readonly PresenceEntry[];
  /** Sessions of this holder that closed: removed only while the entry is still theirs. */
  leave: readonly PresenceEntry[];
}

export interface PresenceReply {
  /** Some earlier call of this holder is not in Redis: write every student again under a new holder. */
  resync: boolean;
  /** Indexes into `join` of sessions a newer session of the same student replaced (not written). */
  refused: number[];
}

export class PresenceStore {
  constructor(
    private readonly redis: RedisClient,
    /** How long a bucket's presence keys outlive their last call, and a dead holder its heartbeat. */
    private readonly keepMs: number,
  ) {}

  /**
   * Applies one bucket's update in one call. Calls for several buckets issued together go out back
   * to back on each connection: the caller starts them all, then awaits.
   */
  async apply(update: PresenceUpdate, now: number = Date.now()): Promise<PresenceReply> {
    const args: string[] = [
      String(Math.floor(now)),
      String(this.keepMs),
      update.holder,
      String(update.serial),
      String(Math.floor(update.expiresAt)),
      (update.retire ?? []).join(','),
      String(update.join.length),
    ];
    for (const entry of update.join) args.push(entry.student, String(entry.epoch));
    for (const entry of update.leave) args.push(entry.student, String(entry.epoch));
    const keys = [bucketKeys.present(update.exam, update.bucket), bucketKeys.holders(update.exam, update.bucket)];
    const reply = await callFunction('ux_presence', () => this.redis.fcall('ux_presence', keys.length, ...keys, ...args));
    if (!Array.isArray(reply) || reply.length !== 2 || (reply[0] !== 0 && reply[0] !== 1) || !Array.isArray(reply[1])) {
      throw new RedisScriptError(`ux_presence returned ${describe(reply)}; expected [resync, refused]`);
    }
    const refused = (reply[1] as unknown[]).map((position) => {
      if (typeof position !== 'number' || !Number.isInteger(position) || position < 1 || position > update.join.length) {
        throw new RedisScriptError(`ux_presence refused join ${describe(position)}; expected 1 to ${update.join.length}`);
      }
      return position - 1;
    });
    return { resync: reply[0] === 1, refused };
  }
}
