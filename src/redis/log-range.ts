// Reads a range of a bucket's log stream for the export as ONE string per call: a small Lua script
// runs XRANGE in Redis and joins each entry's id and seven fields with NUL.

import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-client.js';

/**
 * Why a script and not XRANGE: XRANGE answers 15 bulk strings per entry (the id, seven names, seven
 * values) and decoding them one by one in ioredis was the export's hottest loop (about 11 µs per
 * entry of JavaScript against about 1 µs of Redis). Joined in Redis, the whole range is one string
 * that a native split cuts apart: about 3.5 µs of Redis and 1 µs of JavaScript per entry. U+0000
 * cannot be stored (docs/PROTOCOL.md section 1), so NUL never occurs inside a field.
 *
 * Entries written by ux_write have the fields s, q, k, v, seq, cts, sts in that order and are read by
 * position; any other layout is read by name, with q and v optional (only answers carry them). The
 * first entry that lacks s, k, seq, cts or sts stops the read: `{-1, id}`.
 */
const SCRIPT = `
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])
local out = {}
local n = 0
for i = 1, #entries do
  local id, f = entries[i][1], entries[i][2]
  local s, q, k, v, seq, cts, sts
  if #f == 14 and f[1] == 's' and f[3] == 'q' and f[5] == 'k' and f[7] == 'v' and f[9] == 'seq' and f[11] == 'cts' and f[13] == 'sts' then
    s, q, k, v, seq, cts, sts = f[2], f[4], f[6], f[8], f[10], f[12], f[14]
  else
    local named = {}
    for j = 1, #f - 1, 2 do named[f[j]] = f[j + 1] end
    s, q, k, v, seq, cts, sts = named.s, named.q or '', named.k, named.v or '', named.seq, named.cts, named.sts
    if not (s and k and seq and cts and sts) then return {-1, id} end
  end
  out[n + 1] = id
  out[n + 2] = s
  out[n + 3] = q
  out[n + 4] = k
  out[n + 5] = v
  out[n + 6] = seq
  out[n + 7] = cts
  out[n + 8] = sts
  n = n + 8
end
return {#entries, table.concat(out, '\\0')}
`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

/** Fields per entry in LogRange.fields: id, s, q, k, v, seq, cts, sts. */
export const LOG_FIELDS = 8;

export type LogRange =
  /** `fields` holds LOG_FIELDS strings per entry, in stream order. */
  | { ok: true; entries: number; fields: string[] }
  /** The id of an entry that lacks a required field. */
  | { ok: false; malformedId: string };

/**
 * At most `count` entries of the stream `key` from `start` (an id, `(id` for after it, or `-`).
 * Redis runs one script at a time, so `count` bounds how long a call holds it: about 3.5 µs each.
 */
export async function readLogRange(redis: RedisClient, key: string, start: string, count: number): Promise<LogRange> {
  let reply: unknown;
  try {
    reply = await redis.evalsha(SHA, 1, key, start, count);
  } catch (error) {
    // Not cached on this node yet (a restart, a failover, another Cluster node): send it whole once.
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    reply = await redis.eval(SCRIPT, 1, key, start, count);
  }
  const [entries, text] = reply as [number, string];
  if (entries < 0) return { ok: false, malformedId: text };
  return { ok: true, entries, fields: entries === 0 ? [] : text.split('\0') };
}
