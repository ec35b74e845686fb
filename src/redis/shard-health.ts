// Watches every shard of a Redis Cluster: its primary, the replicas in sync with it, and whether
// that is enough for redis.waitReplicas; for /api/status and /readyz, and one warning per lapse.

import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';

/** How often the shards are read: one INFO replication per primary, so a few seconds is cheap. */
export const SHARD_CHECK_INTERVAL_MS = 3_000;
/** An INFO that takes longer than this counts as a primary that does not answer. */
const INFO_TIMEOUT_MS = 2_000;
/**
 * Seconds since a replica's last acknowledgement past which it no longer counts as in sync:
 * Redis's own `min-replicas-max-lag` default. Replicas acknowledge every second, so a healthy one
 * shows 0 or 1; a busy box can show a few, and must not flap the status.
 */
const MAX_IN_SYNC_LAG_SECONDS = 10;

export interface ReplicaHealth {
  /** host:port, as the replica announces itself to its primary. */
  node: string;
  /** Its initial sync is done (`state=online`) and it acknowledged within MAX_IN_SYNC_LAG_SECONDS. */
  inSync: boolean;
}

/** One shard as GET /api/status shows it (`redis.shards`). */
export interface ShardHealth {
  /** host:port of the primary. */
  primary: string;
  replicas: ReplicaHealth[];
  replicasInSync: number;
  waitReplicas: number;
  /** The primary answers and has at least waitReplicas replicas in sync: its buckets get acks. */
  ok: boolean;
  /** Why not, in words an operator acts on; null when ok. */
  reason: string | null;
}

function nodeName(node: Redis): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`;
}

function field(info: string, key: string): string | undefined {
  return new RegExp(`^${key}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/** The replicas a primary's `INFO replication` lists (`slaveN:ip=...,port=...,state=...,lag=...`). */
export function parseReplicas(info: string): ReplicaHealth[] {
  return [...info.matchAll(/^slave\d+:(.*)$/gm)].map((line) => {
    const fields = new Map((line[1] ?? '').trim().split(',').map((pair) => pair.split('=') as [string, string]));
    const lag = Number(fields.get('lag') ?? Number.NaN);
    return { node: `${fields.get('ip') ?? '?'}:${fields.get('port') ?? '?'}`, inSync: fields.get('state') === 'online' && lag <= MAX_IN_SYNC_LAG_SECONDS };
  });
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The health of the shard `primary` leads, from its own INFO replication. */
export async function readShardHealth(primary: Redis, waitReplicas: number): Promise<ShardHealth> {
  const name = nodeName(primary);
  const shard = (replicas: ReplicaHealth[], reason: string | null): ShardHealth => {
    const replicasInSync = replicas.filter((replica) => replica.inSync).length;
    return { primary: name, replicas, replicasInSync, waitReplicas, ok: reason === null, reason };
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${INFO_TIMEOUT_MS} ms`)), INFO_TIMEOUT_MS);
    });
    const info = await Promise.race([primary.info('replication'), timeout]);
    if (field(info, 'role') !== 'master') return shard([], `${name} is no longer a primary (a failover is under way; the client's slot map follows within seconds)`);
    const replicas = parseReplicas(info);
    const inSync = replicas.filter((replica) => replica.inSync).length;
    if (inSync >= waitReplicas) return shard(replicas, null);
    const counted = inSync === replicas.length ? plural(inSync, 'replica') : `${plural(inSync, 'replica')} in sync (of ${replicas.length} connected)`;
    return shard(replicas, `primary ${name} has ${counted} and waitReplicas is ${waitReplicas}: its buckets get no acks until one more is in sync; start a replica for it, or add one`);
  } catch (error) {
    return shard([], `primary ${name} does not answer INFO (${(error as Error).message}): its buckets get no acks while it is down`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads every primary the Cluster client knows every SHARD_CHECK_INTERVAL_MS. A shard that turns
 * unhealthy is logged once, at warn, and once more (info) when it is healthy again: an operator
 * sees one line per lapse, not one every few seconds.
 */
export class ShardHealthWatch {
  private latest: ShardHealth[] = [];
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  /** Primaries whose lapse was logged and has not ended yet. */
  private readonly warned = new Set<string>();

  constructor(
    private readonly cluster: Cluster,
    private readonly waitReplicas: number,
    private readonly log: Logger,
    private readonly intervalMs = SHARD_CHECK_INTERVAL_MS,
  ) {}

  /** The shards as last read (empty before the first check). */
  get shards(): readonly ShardHealth[] {
    return this.latest;
  }

  /** Checks now, then periodically; resolves once the first check is done. */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round; a round still running (a primary slow to answer) is not doubled. */
  check(): Promise<void> {
    this.checking ??= this.readAll().finally(() => (this.checking = null));
    return this.checking;
  }

  private async readAll(): Promise<void> {
    const shards = await Promise.all(this.cluster.nodes('master').map((primary) => readShardHealth(primary, this.waitReplicas)));
    shards.sort((a, b) => a.primary.localeCompare(b.primary));
    this.latest = shards;
    const current = new Set(shards.map((shard) => shard.primary));
    for (const shard of shards) {
      if (!shard.ok && !this.warned.has(shard.primary)) {
        this.warned.add(shard.primary);
        this.log.warn({ primary: shard.primary, replicasInSync: shard.replicasInSync, waitReplicas: shard.waitReplicas }, shard.reason!);
      } else if (shard.ok && this.warned.delete(shard.primary)) {
        this.log.info({ primary: shard.primary, replicasInSync: shard.replicasInSync, waitReplicas: shard.waitReplicas }, `primary ${shard.primary} has ${plural(shard.replicasInSync, 'replica')} in sync again`);
      }
    }
    // A primary that is gone from the slot map (failed over) ends its lapse without a line: the
    // shard now shows under its new primary.
    for (const primary of this.warned) if (!current.has(primary)) this.warned.delete(primary);
  }
}
