// Takes SQLite's write lock without blocking the thread: BEGIN IMMEDIATE is tried with no busy
// wait and tried again after a short sleep until the deadline, so an exporter thread stays stoppable.

import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';

/** How often a writer tries again for a write lock another connection holds. */
const RETRY_MS = 20;

/**
 * Runs `body` in an IMMEDIATE transaction, waiting up to `waitMs` for another connection's write
 * lock. SQLite's own busy wait sleeps inside the native call, where a thread cannot be stopped: a
 * second Ctrl-C during an export blocked on the lock waited the whole 30 s, then better-sqlite3
 * aborted the process as it threw into the terminating thread. Here the waiting is on timers.
 */
export async function inWriteTransaction(db: Database.Database, body: () => void, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
  for (;;) {
    db.pragma('busy_timeout = 0');
    try {
      db.transaction(body).immediate();
      return;
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
    } finally {
      db.pragma(`busy_timeout = ${busyTimeout}`);
    }
    await sleep(RETRY_MS);
  }
}

function isBusy(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === 'SQLITE_BUSY';
}
