// Creates the ioredis connections every actor uses (one Redis, or a Redis Cluster), with options
// chosen so no write is lost while Redis is down, restarting or failing over; and a bounded wait.

import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { cappedBackoff } from '../backoff.js';
import type { RedisTlsMaterial } from '../config/redis-tls.js';
import { ConfigError, RedisUnavailableError } from '../errors.js';
import { parseRedisNode, type RedisNode } from './redis-node.js';

export type { RedisNode } from './redis-node.js';

/**
 * How Untradex proves itself to Redis: an ACL user (none: `default`), a password, TLS. The embedded
 * Redis takes only its generated password; an external one or a Cluster any of the three. Plain
 * data, so a target crosses into worker threads and gateway processes as it is.
 */
export interface RedisAccess {
  username?: string;
  password?: string;
  tls?: RedisTlsMaterial;
}

/** One Redis server, by URL (an external one) or by address (the embedded one). */
export type SingleRedisTarget = ({ url: string } | RedisNode) & RedisAccess;
/** A Redis Cluster, reached through any of its seed nodes (the client discovers the rest). */
export type ClusterTarget = { cluster: RedisNode[] } & RedisAccess;
export type RedisTarget = SingleRedisTarget | ClusterTarget;

/**
 * What every part of Untradex talks to. Both ioredis classes share one command interface (the same
 * Commander and Transaction types), so BucketStore, BucketReader and the rest take either. Keys of
 * one call must share a hash slot on a Cluster: every multi-key call we make keeps to one bucket's
 * hash tag, and anything wider is split into one command per key.
 */
export type RedisClient = Redis | Cluster;

export function isClusterTarget(target: RedisTarget): target is ClusterTarget {
  return 'cluster' in target;
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** For status pages and logs: no password ever shows, only whether there is one. */
export function describeRedisTarget(target: RedisTarget): string {
  const where = isClusterTarget(target)
    ? `cluster ${target.cluster.map((node) => `${node.host}:${node.port}`).join(',')}`
    : 'url' in target
      ? redactUrl(target.url)
      : `${target.host}:${target.port}`;
  const how = [target.tls === undefined ? [] : ['TLS'], target.username === undefined ? [] : [`user ${target.username}`]].flat();
  return how.length === 0 ? where : `${where} (${how.join(', ')})`;
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis (unparseable url)';
  }
}

/** The `redis.*` keys a target is made from (UntradexConfig['redis'] has them all). */
export interface RedisTargetConfig {
  embedded: boolean;
  port: number;
  url: string | null;
  cluster: string[] | null;
  username?: string | null;
  password?: string | null;
  tlsMaterial?: RedisTlsMaterial | null;
  embeddedPassword?: string | null;
}

/** The target the `redis.*` config keys name: embedded, one external server, or a Cluster. */
export function redisTargetFromConfig(redis: RedisTargetConfig): RedisTarget {
  if (redis.embedded) {
    const password = redis.embeddedPassword ?? null;
    return password === null ? { host: '127.0.0.1', port: redis.port } : { host: '127.0.0.1', port: redis.port, password };
  }
  const access: RedisAccess = {
    ...(redis.username == null ? {} : { username: redis.username }),
    ...(redis.password == null ? {} : { password: redis.password }),
    ...(redis.tlsMaterial == null ? {} : { tls: redis.tlsMaterial }),
  };
  if (redis.cluster !== null) {
    return {
      cluster: redis.cluster.map((seed) => {
        const node = parseRedisNode(seed);
        if (node === null) throw new ConfigError('redis.cluster', `"${seed}" is not host:port`);
        return node;
      }),
      ...access,
    };
  }
  return { url: redis.url!, ...access };
}

/** The per-connection options `access` asks for; the same for one server and every Cluster node. */
export function accessOptions(access: RedisAccess): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  return {
    ...(access.username === undefined ? {} : { username: access.username }),
    ...(access.password === undefined ? {} : { password: access.password }),
    ...(access.tls === undefined ? {} : { tls: { ...access.tls } }),
  };
}

/** Attempt number (1-based) in, delay in ms out. */
export type ReconnectBackoff = (attempt: number) => number;

/**
 * Capped exponential backoff with jitter: 50, 100, 200 ... ms up to 2 s. The cap is lower than
 * ioredis's 5 s because an embedded Redis restarted by the supervisor is back within a second or
 * two, and every acked-but-waiting student waits on this delay. Jitter keeps the connections of
 * many actors and processes from reconnecting in lockstep.
 */
export const defaultReconnectBackoff: ReconnectBackoff = cappedBackoff({ baseMs: 50, maxMs: 2000, jitter: { addMs: 100 }, firstAttempt: 1 });

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

/**
 * Cluster options, chosen for the same policy as the single-node client: a write waits, is
 * redirected or is resent; it is never dropped while Untradex still holds it.
 */
export function clusterClientOptions(name: string, backoff: ReconnectBackoff = defaultReconnectBackoff, access: RedisAccess = {}): ClusterOptions {
  // Per-node connections: as the single-node client, minus what Cluster manages itself (the
  // per-node retryStrategy and offline queue, which ioredis forces). The user, password and TLS
  // apply to every node, the discovered ones included.
  const { retryStrategy: _retry, enableOfflineQueue: _queue, lazyConnect: _lazy, ...nodeOptions } = redisClientOptions(name, backoff);
  return {
    redisOptions: { ...nodeOptions, ...accessOptions(access) },
    // With TLS a seed is connected to by the name it is given, so its certificate is checked
    // against that name; ioredis's default resolves it to an address first, and a certificate
    // made out to the name would then fail. (The nodes found through CLUSTER SLOTS come as the
    // addresses the servers announce: their certificates must carry those, or redis.tls.servername
    // names what they carry.)
    ...(access.tls === undefined ? {} : { dnsLookup: (address: string, callback: (error: Error | null, address: string) => void) => callback(null, address) }),
    // Commands issued before the slot map is known, or while every node is unreachable, wait here.
    enableOfflineQueue: true,
    // Emit 'ready' only once CLUSTER INFO says cluster_state:ok, not merely when a node answers.
    enableReadyCheck: true,
    lazyConnect: false,
    // Always a number: after losing every node the client keeps reconnecting to the seeds. A
    // non-number would end the client and fail every queued command.
    clusterRetryStrategy: (times: number) => backoff(times),
    // Reads (XRANGE, HSCAN, HGETALL of the exporters and the control API) go to the primaries:
    // a replica lags, and an export read from one could miss events that were already acked.
    scaleReads: 'master',
    // A node connection that drops is not reconnected as such (ioredis's default, kept on purpose):
    // its in-flight commands fail with "Connection is closed.", and Cluster resends them after
    // retryDelayOnFailover to whichever node the refreshed slot map names, i.e. the promoted
    // replica after a failover. Redis may already have run a resent ux_write; its seq dedupe
    // answers Duplicate, so the resend is harmless.
    clusterNodeRetryStrategy: null,
    // Every MOVED, ASK, TRYAGAIN, CLUSTERDOWN or failover retry of one command counts against this.
    // ioredis's 16 would fail commands after ~2 s of failover (a primary is only declared failed
    // after cluster-node-timeout, and the replica election takes a second or more after that); 600
    // at 100-200 ms apart keeps a command waiting for a minute or more. The writer resends a batch
    // that still fails, so the limit only bounds how long one command waits, never what is kept.
    maxRedirections: 600,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    // A MOVED is followed at once: after a resharding or failover the new owner is ready.
    retryDelayOnMoved: 0,
    // Besides refreshing on MOVED and on errors, look at the slot map every 2 s, so a promoted
    // replica or a new primary is noticed (and given the function library) without waiting for
    // a command to fail on it.
    slotsRefreshInterval: 2000,
    slotsRefreshTimeout: 1000,
    // Classic pub/sub (PUBLISH reaches every node through the cluster bus), one subscriber
    // connection; sharded pub/sub would need SPUBLISH in the functions.
    shardedSubscribers: false,
  };
}

/** A new connection to `target`. Callers own it: listen for 'error' and `quit()` it when done. */
export function createRedisClient(target: SingleRedisTarget, name: string, backoff?: ReconnectBackoff): Redis;
export function createRedisClient(target: ClusterTarget, name: string, backoff?: ReconnectBackoff): Cluster;
export function createRedisClient(target: RedisTarget, name: string, backoff?: ReconnectBackoff): RedisClient;
export function createRedisClient(target: RedisTarget, name: string, backoff?: ReconnectBackoff): RedisClient {
  if (isClusterTarget(target)) return new Cluster(target.cluster.map((node) => ({ host: node.host, port: node.port })), clusterClientOptions(name, backoff, target));
  const options = { ...redisClientOptions(name, backoff), ...accessOptions(target) };
  // A password in the URL wins over the options (ioredis merges them so); the config refuses both.
  if ('url' in target) return new Redis(target.url, options);
  return new Redis({ ...options, host: target.host, port: target.port });
}

/**
 * Resolves once `redis` is connected, has loaded its data and answers PING; rejects with
 * RedisUnavailableError after `timeoutMs`, naming the last connection error seen (a refused port,
 * a TLS handshake). The PING stays queued if it times out, which is harmless.
 */
export async function waitForRedis(redis: RedisClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let lastError: Error | undefined;
  const remember = (error: Error) => (lastError = error);
  redis.on('error', remember);
  redis.on('node error', remember);
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const seen = lastError === undefined ? '' : `; last error: ${lastError.message}${lastError.cause instanceof Error ? ` (${lastError.cause.message})` : ''}`;
      reject(new RedisUnavailableError(`Redis did not answer within ${timeoutMs} ms (status: ${redis.status}${seen})`));
    }, timeoutMs);
  });
  try {
    await Promise.race([redis.ping(), timeout]);
  } catch (error) {
    if (error instanceof RedisUnavailableError) throw error;
    throw new RedisUnavailableError(`Redis PING failed (status: ${redis.status})`, { cause: error });
  } finally {
    clearTimeout(timer);
    redis.off('error', remember);
    redis.off('node error', remember);
  }
}

/**
 * Disconnects for good. On a Cluster client it also ends the slot-map refresh chain: ioredis re-arms
 * its slotsRefreshInterval timer from the callback of a refresh that was in flight at disconnect
 * (ioredis 6: `refreshSlotsCache(() => nextRound())`), and once disconnected every refresh fails at
 * once and re-arms again, so a client closed mid-refresh kept a 2 s timer alive for ever and its
 * process never exited. Emptying refreshSlotsCache lets the last re-armed timer fire into nothing.
 */
export function disconnectRedisClient(client: RedisClient): void {
  client.disconnect();
  if (isCluster(client)) {
    (client as unknown as { refreshSlotsCache: (callback?: () => void) => void }).refreshSlotsCache = () => undefined;
  }
}
