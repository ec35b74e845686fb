// Resident memory of another process, read from /proc (Linux): the hostile-input tests sample the
// Untradex process before and after an attack to bound what the attack made it keep.

import { readFileSync } from 'node:fs';

/** VmRSS of `pid` in bytes. */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
