// Writes the per-bucket presence sets (`ux:{<exam>:<bucket>}:presence`, student -> expiry ms) that
// make `connected` right across every gateway process and box: one ux_presence call per bucket.

import { RedisScriptError } from '../errors.js';
import { bucketKeys } from './bucket-keys.js';
import { callFunction, describe } from './bucket-store.js';
import type { RedisClient } from './redis-client.js';

/** One student's presence entry as a connection actor wrote it: the expiry identifies the entry. */
export interface PresenceEntry {
  student: string;
  /** ms since the epoch. */
  expiresAt: number;
}

export interface PresenceUpdate {
  exam: string;
  bucket: number;
  /** Entries to write (new sessions and refreshes). */
  join: readonly PresenceEntry[];
  /** Entries this actor wrote for sessions that closed: removed only if still the same entry. */
  leave: readonly PresenceEntry[];
}

export class PresenceStore {
  constructor(
    private readonly redis: RedisClient,
    /** How long a bucket's presence key outlives its last refresh (then nobody holds a session in it). */
    private readonly keepMs: number,
  ) {}

  /**
   * Applies one bucket's update in one call (leaves before joins, so a student who left one
   * session and opened another in the same round stays present). Calls for several buckets issued
   * together go out back to back on each connection: the caller starts them all, then awaits.
   */
  async apply(update: PresenceUpdate, now: number = Date.now()): Promise<void> {
    const args: string[] = [String(Math.floor(now)), String(this.keepMs), String(update.join.length)];
    for (const entry of update.join) args.push(entry.student, String(entry.expiresAt));
    for (const entry of update.leave) args.push(entry.student, String(entry.expiresAt));
    const key = bucketKeys.presence(update.exam, update.bucket);
    const reply = await callFunction('ux_presence', () => this.redis.fcall('ux_presence', 1, key, ...args));
    if (typeof reply !== 'number') throw new RedisScriptError(`ux_presence returned ${describe(reply)}; expected an entry count`);
  }
}
