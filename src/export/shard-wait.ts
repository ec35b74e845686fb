// What an exam's finalize waits for when a Redis shard is down: the buckets it cannot close, read or
// count yet, named by the shard (primary host:port) that serves them, as GET /api/exams/{exam} shows.

import { cappedBackoff, type BackoffDelay } from '../backoff.js';
import { UntradexError } from '../errors.js';
import { keySlot } from '../redis/key-slot.js';
import { isCluster, type RedisClient } from '../redis/redis-client.js';

/** The `waiting` field of an exam report (an addition to docs/PROTOCOL.md section 4; null: waits for nothing). */
export interface ExamWaiting {
  reason: 'redis_shard_unavailable';
  /** The first shard waited for, as `host:port` of its primary (what the client's slot map names). */
  shard: string;
  /** Every shard waited for. */
  shards: string[];
  /** Buckets of the exam on those shards that are not closed, exported or counted yet. */
  buckets: number;
  /** When the oldest of those waits began (ISO 8601). */
  since: string;
  /** For people: what waits, and that it goes on by itself once the shard answers. */
  message: string;
}

/** One key waited for (a bucket's, or the exam's state or index), and since when (ms since the epoch). */
export interface ShardWait {
  /** A key of the slot waited for: its shard is the one named. */
  key: string;
  /** The bucket, or null for the exam's state (meta, lease) or the exam index. */
  bucket: number | null;
  since: number;
  /** Which step waits: closing it, exporting it, or reading its counts. */
  step: 'close' | 'export' | 'counts';
}

const STEP_WORDS: Record<ShardWait['step'], string> = {
  close: 'closing',
  export: 'exporting',
  counts: 'counting',
};

/** The shard (primary host:port) that serves `key`, as the client's slot map says now. */
export function shardOfKey(redis: RedisClient, key: string): string {
  if (!isCluster(redis)) return `${redis.options.host ?? 'redis'}:${redis.options.port ?? 6379}`;
  return redis.slots[keySlot(key)]?.[0] ?? 'unknown';
}

/** The exam's waits grouped by shard, or null when nothing waits. */
export function describeWaiting(redis: RedisClient, exam: string, waits: readonly ShardWait[]): ExamWaiting | null {
  if (waits.length === 0) return null;
  const byShard = new Map<string, ShardWait[]>();
  for (const wait of waits) {
    const shard = shardOfKey(redis, wait.key);
    const list = byShard.get(shard);
    if (list === undefined) byShard.set(shard, [wait]);
    else list.push(wait);
  }
  const shards = [...byShard.keys()].sort();
  const since = Math.min(...waits.map((wait) => wait.since));
  const steps = [...new Set(waits.map((wait) => STEP_WORDS[wait.step]))].join(' and ');
  const buckets = new Set(waits.flatMap((wait) => (wait.bucket === null ? [] : [wait.bucket]))).size;
  const what = buckets === 0 ? `the state of exam ${exam}` : `${buckets} bucket${buckets === 1 ? '' : 's'} of exam ${exam}`;
  return {
    reason: 'redis_shard_unavailable',
    shard: shards[0]!,
    shards,
    buckets,
    since: new Date(since).toISOString(),
    message: `${steps} ${what} waits for Redis shard ${shards.join(', ')}, which does not answer (down, failing over, or short of replicas for redis.waitReplicas); it goes on by itself once the shard is back`,
  };
}

/** Redis replies that mean "ask again later", not "this call is wrong". */
const TRANSIENT_REPLY = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|READONLY|MASTERDOWN|NOREPLICAS) /;

/**
 * Whether a failed Redis call is worth trying again once the shard is back: connection errors,
 * redirections, cluster states and replicas that did not confirm. A script error or a corrupt
 * reply is not.
 */
export function isShardOutage(error: unknown): boolean {
  if (error instanceof UntradexError) {
    if (error.code === 'UX_ERR_REDIS_UNAVAILABLE') return true;
    // callFunction reports every error reply as a script error; a node still loading its AOF after
    // a restart (LOADING), a redirection or a cluster state is an outage, not a broken script.
    const cause = error.cause;
    return error.code === 'UX_ERR_REDIS_SCRIPT' && cause instanceof Error && cause.name === 'ReplyError' && TRANSIENT_REPLY.test(cause.message);
  }
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return TRANSIENT_REPLY.test(error.message);
  // ioredis's own errors: "Connection is closed.", "Too many Cluster redirections", ClusterAllFailedError.
  return true;
}

/** Capped exponential backoff with jitter for waiting on a shard: no attempt limit, an outage ends. */
export const shardRetryDelay: BackoffDelay = cappedBackoff({ baseMs: 200, maxMs: 5_000, jitter: 'equal', firstAttempt: 1 });

/** What within() answers when the time ran out first. */
export const LATE = Symbol('late');

/** `promise`'s value, or LATE once `ms` have passed first (the promise is left to settle alone). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<typeof LATE>((resolve) => (timer = setTimeout(() => resolve(LATE), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
