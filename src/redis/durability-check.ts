// What an external Redis really does with an acked write: its appendonly, appendfsync and
// maxmemory-policy, read from every node, and the refusal when an ack would promise more than that.

import type { Redis } from 'ioredis';
import { RedisDurabilityError } from '../errors.js';
import { isCluster, type RedisClient } from './redis-client.js';

/** One Redis server's persistence settings as it reports them. */
export interface NodeDurability {
  node: string;
  appendonly: string;
  appendfsync: string;
  maxmemoryPolicy: string;
  /** What is wrong with them for Untradex's promise, null when nothing. */
  problem: string | null;
}

export type Appendfsync = 'always' | 'everysec';

// How much an fsync policy keeps, weakest first: a server must be at least as strong as configured.
const STRENGTH: Record<string, number> = { no: 0, everysec: 1, always: 2 };

/** Names the node the way an operator finds it in their own inventory. */
function nodeName(node: Redis): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`;
}

/**
 * Reads the settings of one server. CONFIG GET first; a managed Redis that refuses CONFIG still
 * tells appendonly and the eviction policy through INFO, but not appendfsync (reported as
 * `unknown`, which the check refuses, naming how to allow it).
 */
export async function readNodeDurability(node: Redis, want: Appendfsync): Promise<NodeDurability> {
  const name = nodeName(node);
  let settings: { appendonly: string; appendfsync: string; maxmemoryPolicy: string };
  try {
    const flat = (await node.call('CONFIG', 'GET', 'appendonly', 'appendfsync', 'maxmemory-policy')) as string[];
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i]!, flat[i + 1]!);
    settings = { appendonly: map.get('appendonly') ?? 'unknown', appendfsync: map.get('appendfsync') ?? 'unknown', maxmemoryPolicy: map.get('maxmemory-policy') ?? 'unknown' };
  } catch {
    const info = `${await node.info('persistence')}\n${await node.info('memory')}`;
    const field = (key: string) => new RegExp(`^${key}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    settings = { appendonly: field('aof_enabled') === '1' ? 'yes' : field('aof_enabled') === '0' ? 'no' : 'unknown', appendfsync: 'unknown', maxmemoryPolicy: field('maxmemory_policy') ?? 'unknown' };
  }
  return { node: name, ...settings, problem: durabilityProblem(name, settings, want) };
}

/** The reason acks on this server would not mean what `redis.appendfsync` promises, or null. */
export function durabilityProblem(node: string, s: { appendonly: string; appendfsync: string; maxmemoryPolicy: string }, want: Appendfsync): string | null {
  if (s.appendonly !== 'yes') {
    return (
      `Redis at ${node} has appendonly ${s.appendonly}: an acked answer would not survive a restart of it. ` +
      'Turn the append-only file on (`appendonly yes` in its redis.conf, or CONFIG SET appendonly yes then CONFIG REWRITE)'
    );
  }
  if (s.appendfsync === 'unknown') {
    return (
      `Redis at ${node} does not let Untradex read its appendfsync (CONFIG GET is refused): ` +
      `allow CONFIG GET for Untradex's user, or check it yourself and set redis.checkDurability to false`
    );
  }
  if ((STRENGTH[s.appendfsync] ?? -1) < STRENGTH[want]!) {
    return (
      `Redis at ${node} has appendfsync ${s.appendfsync} but redis.appendfsync is ${want}: an ack would promise an fsync that does not happen. ` +
      `Set \`appendfsync ${want}\` on that server, or redis.appendfsync to what it does`
    );
  }
  if (s.maxmemoryPolicy !== 'noeviction') {
    return (
      `Redis at ${node} has maxmemory-policy ${s.maxmemoryPolicy}: it may evict keys, acked answers and export leases among them. ` +
      'Set `maxmemory-policy noeviction` (a full Redis then refuses writes, and students are told to wait, instead of losing answers)'
    );
  }
  return null;
}

/** Reads every server behind `redis`: the one server, or every node of a Cluster (primaries and replicas). */
export async function readDurability(redis: RedisClient, want: Appendfsync): Promise<NodeDurability[]> {
  const nodes = isCluster(redis) ? redis.nodes('all') : [redis];
  return Promise.all(nodes.map((node) => readNodeDurability(node, want)));
}

/** Reads every server and throws RedisDurabilityError naming each one whose settings break the promise. */
export async function assertDurable(redis: RedisClient, want: Appendfsync): Promise<NodeDurability[]> {
  const report = await readDurability(redis, want);
  const problems = report.flatMap((node) => (node.problem === null ? [] : [node.problem]));
  if (problems.length > 0) throw new RedisDurabilityError(problems.join('; '));
  return report;
}
