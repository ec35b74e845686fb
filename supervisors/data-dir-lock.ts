// Rule S2: one server per data directory. A mkdir lock (proper-lockfile: its mtime is refreshed
// while we live, so a lock nobody refreshes goes stale) plus an owner note that names the holder.

import { readFileSync } from 'node:fs';
import { readFile, rename, rmdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { DataDirLockedError } from '../src/errors.js';

/**
 * The lock directory inside dataDir, and the note beside it naming the holder (beside, not in it:
 * proper-lockfile watches the directory's mtime and removes it with rmdir).
 */
export const LOCK_DIR_NAME = 'untradex.lock';
export const NOTE_FILE = 'untradex.lock.json';
/** A lock not refreshed for this long is stale (a holder on another host, or a frozen one). */
const STALE_MS = 10_000;
const UPDATE_MS = 2_000;
/** A dead holder's lock is broken once it has gone this long without a refresh. */
const BREAK_AFTER_MS = UPDATE_MS + 1_000;

interface Owner {
  pid: number;
  /** The kernel's start time of the holder (clock ticks since boot): a reused pid has another. */
  startTime: string | null;
  host: string;
  since: string;
}

/** The start time of a process from /proc, or null if it is gone or a zombie. */
function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** True when the note's holder is certainly gone: same host, and no live process with its pid and start. */
function ownerIsGone(owner: Owner): boolean {
  if (owner.host !== hostname()) return false;
  const start = processStartTime(owner.pid);
  return start === null || (owner.startTime !== null && start !== owner.startTime);
}

export class DataDirLock {
  private release: (() => Promise<void>) | null = null;
  /** The holder whose dead lock this one broke, for the log; null when the directory was free. */
  tookOverFrom: { pid: number; waitedMs: number } | null = null;

  private constructor(readonly dataDir: string) {}

  get path(): string {
    return join(this.dataDir, LOCK_DIR_NAME);
  }

  /**
   * Takes the lock or throws DataDirLockedError naming the directory and the holder's pid.
   * `onLost` hears of a lock taken from under us (its directory replaced): the server must stop.
   */
  static async acquire(dataDir: string, onLost: (error: Error) => void): Promise<DataDirLock> {
    const lock = new DataDirLock(dataDir);
    await lock.take(onLost);
    return lock;
  }

  private async take(onLost: (error: Error) => void): Promise<void> {
    const options = { lockfilePath: this.path, realpath: false, stale: STALE_MS, update: UPDATE_MS, retries: 0, onCompromised: onLost };
    const startedAt = Date.now();
    const deadline = startedAt + STALE_MS + 2_000;
    for (;;) {
      try {
        this.release = await lockfile.lock(this.dataDir, options);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      }
      const owner = await this.readOwner();
      const lockAgeMs = await this.lockAgeMs();
      if (owner !== null && owner.host === hostname() && !ownerIsGone(owner)) throw new DataDirLockedError(this.dataDir, owner.pid, owner.host);
      if (owner !== null && ownerIsGone(owner) && lockAgeMs !== null && lockAgeMs > BREAK_AFTER_MS) {
        // The holder died without unlocking (kill -9, power loss) and nobody refreshes its lock:
        // it must not block us. (A live new holder refreshes it, and rewrites the note at once.)
        await rmdir(this.path).catch(() => undefined);
        this.tookOverFrom = { pid: owner.pid, waitedMs: Date.now() - startedAt };
        continue;
      }
      // A holder on another host, or a note not written yet: wait until the lock is stale, which
      // proper-lockfile then breaks itself.
      if (Date.now() > deadline) throw new DataDirLockedError(this.dataDir, owner?.pid ?? 0, owner?.host ?? 'an unknown host');
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const owner: Owner = { pid: process.pid, startTime: processStartTime(process.pid), host: hostname(), since: new Date().toISOString() };
    const temporary = `${this.notePath}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(owner) + '\n', { mode: 0o600 });
    await rename(temporary, this.notePath);
  }

  private get notePath(): string {
    return join(this.dataDir, NOTE_FILE);
  }

  private async lockAgeMs(): Promise<number | null> {
    try {
      return Date.now() - (await stat(this.path)).mtimeMs;
    } catch {
      return null;
    }
  }

  private async readOwner(): Promise<Owner | null> {
    try {
      return JSON.parse(await readFile(this.notePath, 'utf8')) as Owner;
    } catch {
      return null;
    }
  }

  /** Gives the directory up; safe to call twice. */
  async unlock(): Promise<void> {
    const release = this.release;
    this.release = null;
    await release?.().catch(() => undefined);
  }
}
