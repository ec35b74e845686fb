// Creates the ioredis connections every actor uses, with options chosen so no write is lost
// while Redis is down or restarting; and a bounded wait for a Redis to answer.

import { Redis, type RedisOptions } from 'ioredis';
import { RedisUnavailableError } from '../errors.js';

export type RedisTarget = { url: string } | { host: string; port: number };

/** Attempt number (1-based) in, delay in ms out. */
export type ReconnectBackoff = (attempt: number) => number;

const BACKOFF_BASE_MS = 50;
const BACKOFF_CAP_MS = 2000;
const BACKOFF_JITTER_MS = 100;

/**
 * Capped exponential backoff with jitter: 50, 100, 200 ... ms up to 2 s. The cap is lower than
 * ioredis's 5 s because an embedded Redis restarted by the supervisor is back within a second or
 * two, and every acked-but-waiting student waits on this delay. Jitter keeps the connections of
 * many actors and processes from reconnecting in lockstep.
 */
export const defaultReconnectBackoff: ReconnectBackoff = (attempt) =>
  Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1), BACKOFF_CAP_MS) + Math.floor(Math.random() * BACKOFF_JITTER_MS);

export function redisClientOptions(name: string, backoff: ReconnectBackoff = defaultReconnectBackoff): RedisOptions {
  return {
    // Shows up in CLIENT LIST, which is how an operator tells actors and processes apart.
    connectionName: name,
    // Connect now: readiness is checked at start, not at the first write.
    lazyConnect: false,
    // Commands issued while disconnected wait in the offline queue instead of failing.
    enableOfflineQueue: true,
    // null: a command waits for the reconnect however long it takes, instead of failing after N
    // reconnect attempts. The writer's bounded in-flight batches and the rings above it are the
    // backpressure; a failed write would only be resent by the writer anyway.
    maxRetriesPerRequest: null,
    // Commands that were in flight when the socket dropped are resent after the reconnect. Redis
    // may already have run them; ux_write's seq dedupe turns the second run into Duplicates, and
    // ux_hello / ux_close are safe to repeat, so resending is harmless.
    autoResendUnfulfilledCommands: true,
    // Wait until Redis has finished loading the AOF before sending anything: before that it answers
    // LOADING errors, which would otherwise reach callers as failed writes.
    enableReadyCheck: true,
    // No per-command timeout: a slow fsync must delay an ack, never turn a write into an error
    // whose effect is unknown.
    commandTimeout: undefined,
    retryStrategy: (times: number) => backoff(times),
    // Subscribers (session replacement, exam close) resubscribe by themselves after a reconnect.
    autoResubscribe: true,
    // The hot path pipelines many small FCALLs; Nagle would hold them back.
    noDelay: true,
  };
}

/** A new connection to `target`. Callers own it: listen for 'error' and `quit()` it when done. */
export function createRedisClient(target: RedisTarget, name: string, backoff?: ReconnectBackoff): Redis {
  const options = redisClientOptions(name, backoff);
  return 'url' in target ? new Redis(target.url, options) : new Redis({ ...options, host: target.host, port: target.port });
}

/**
 * Resolves once `redis` is connected, has loaded its data and answers PING; rejects with
 * RedisUnavailableError after `timeoutMs`. The PING stays queued if it times out, which is harmless.
 */
export async function waitForRedis(redis: Redis, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new RedisUnavailableError(`Redis did not answer within ${timeoutMs} ms (status: ${redis.status})`));
    }, timeoutMs);
  });
  try {
    await Promise.race([redis.ping(), timeout]);
  } catch (error) {
    if (error instanceof RedisUnavailableError) throw error;
    throw new RedisUnavailableError(`Redis PING failed (status: ${redis.status})`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
