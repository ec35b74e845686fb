// Why an embedded redis-server died, in words an operator acts on: a full disk under dataDir
// first (with what to do about it), else the last warning line of Redis's own log.

import { statfs } from 'node:fs/promises';

export interface RedisExit {
  code: number | null;
  signal: string | null;
  /** The end of the server's log (its file, else what it wrote to stderr). */
  tail: string;
  dataDir: string;
  logPath: string;
}

/** Log lines that mean the disk failed Redis, whatever `statfs` says now. */
const DISK_WORDS = /No space left on device|ENOSPC|Can't recover from AOF write error|Error writing to the AOF|short write/i;

/** The cause of an exit, as one sentence after "embedded redis-server ...". Never throws. */
export async function describeRedisExit(exit: RedisExit): Promise<string> {
  const how = exit.signal === null ? `code ${String(exit.code)}` : `signal ${exit.signal}`;
  const free = await freeBytes(exit.dataDir);
  if (DISK_WORDS.test(exit.tail) || (free !== null && free < LOW_DISK_BYTES)) {
    return `exited (${how}): no space left on the disk of ${exit.dataDir}, ${free ?? 'unknown'} bytes free; free space there (or move dataDir) and it starts again from its AOF`;
  }
  const warning = lastWarning(exit.tail);
  return `exited (${how})${warning === null ? '' : `; its log (${exit.logPath}) last said: ${warning}`}`;
}

/** Below this, a Redis death is put down to the disk whatever its log says. */
const LOW_DISK_BYTES = 1024 * 1024;

/** Bytes an unprivileged writer may still use on the filesystem holding `path`, or null. */
export async function freeBytes(path: string): Promise<number | null> {
  try {
    const stats = await statfs(path);
    return stats.bavail * stats.bsize;
  } catch {
    return null;
  }
}

/** The last `#` (warning) line of a Redis log, without its pid and time prefix. */
function lastWarning(log: string): string | null {
  const lines = log.split('\n').filter((line) => / # /.test(line));
  const last = lines.at(-1);
  return last === undefined ? null : last.slice(last.indexOf(' # ') + 3).trim();
}
