// The processes a test or benchmark started and everything they started in turn: found from /proc,
// and killed when the test's own process ends without its teardown having run.

import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { onExit } from 'signal-exit';

/** Every live descendant of `pid`, from /proc (children in their own process groups included). */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [candidate, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(candidate);
        queue.push(candidate);
      }
    }
  }
  return found;
}

/** SIGKILL of each of `pids` still there. */
export function killAll(pids: readonly number[]): void {
  for (const target of pids) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** SIGKILL of `pid` and every descendant, whichever are still there. */
export function killTree(pid: number): void {
  killAll([pid, ...descendants(pid)]);
}

const guarded = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Kills `child` and its descendants if this process ends while it still runs: a detached server
 * (its own process group, so a test can kill the group) is out of reach of the signal that ended
 * a benchmark under `timeout`, and its supervisor would restart its Redis for as long as it lived.
 * Runs on a normal exit, an uncaught error and SIGTERM, SIGINT or SIGHUP; nothing runs on SIGKILL.
 */
export function killOnExit(child: ChildProcess): void {
  if (child.pid === undefined) return;
  guarded.add(child);
  child.once('exit', () => guarded.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  onExit(() => {
    for (const running of guarded) if (running.exitCode === null && running.signalCode === null) killTree(running.pid!);
  });
}
