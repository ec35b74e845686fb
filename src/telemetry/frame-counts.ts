// The frames the gateway sent students, by code: nacks, errs, and socket closes (whoever closed).
// Counted per connection actor (actors/connection/wire-tallies.ts), summed per process and fleet.

import { CloseCode, StandardCloseCode } from '../protocol/close-codes.js';
import { ERR_CODES, NACK_CODES, type ErrCode, type NackCode } from '../protocol/server-frame.js';

/**
 * Close codes counted by name; any other lands in `other`. 1000/1001 a client that left, 1005 a
 * close frame without a code, 1006 a socket that dropped without one; the rest are the protocol's.
 */
export const COUNTED_CLOSE_CODES: readonly number[] = [...Object.values(StandardCloseCode), ...Object.values(CloseCode)].sort((a, b) => a - b);

export interface FrameCounts {
  nacks: Record<NackCode, number>;
  errs: Record<ErrCode, number>;
  /** By close code ("1006", "4409"...) and "other": the server's code when it closed, else the client's. */
  closes: Record<string, number>;
}

export function emptyFrameCounts(): FrameCounts {
  const closes: Record<string, number> = {};
  for (const code of COUNTED_CLOSE_CODES) closes[String(code)] = 0;
  closes.other = 0;
  return {
    nacks: Object.fromEntries(NACK_CODES.map((code) => [code, 0])) as Record<NackCode, number>,
    errs: Object.fromEntries(ERR_CODES.map((code) => [code, 0])) as Record<ErrCode, number>,
    closes,
  };
}

/** Adds `part` into `total` (frames of several processes). */
export function addFrameCounts(total: FrameCounts, part: FrameCounts | undefined): void {
  if (part === undefined) return;
  for (const group of ['nacks', 'errs', 'closes'] as const) {
    const into = total[group] as Record<string, number>;
    for (const [code, count] of Object.entries(part[group])) into[code] = (into[code] ?? 0) + count;
  }
}
