// A Redis server's address as `redis.cluster` lists seed nodes: `host:port`, or `[v6]:port`.
// Kept apart from the client factory so the config loader can check seeds without ioredis.

export interface RedisNode {
  host: string;
  port: number;
}

const NODE_PATTERN = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/;

/** The node `text` names, or null when it is not `host:port` with a port from 1 to 65535. */
export function parseRedisNode(text: string): RedisNode | null {
  const m = NODE_PATTERN.exec(text);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2]) as string, port };
}
