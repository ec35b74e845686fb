// Logs a Redis connection's outages once each (not once per reconnect attempt) and its recovery.
// ioredis keeps retrying on its own; this listener also keeps its 'error' events from being unhandled.

import type { RedisClient } from './redis-client.js';
import type { Logger } from 'pino';

export function logConnectionHealth<C extends RedisClient>(redis: C, name: string, log: Logger): C {
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.warn({ redis: name, err: error.message }, 'Redis connection lost; retrying, and commands wait for it');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ redis: name }, 'Redis connection is back');
  });
  return redis;
}
