// Redis writer actor (worker thread): drains its event rings into Redis in batches and posts
// the per-event outcomes back through the ack rings. Supervised by supervisors/writer-supervisor.

import { hostActor } from '../src/actor-runtime/actor-host.js';
import { BucketStore } from '../src/redis/bucket-store.js';
import { logConnectionHealth } from '../src/redis/connection-log.js';
import { createRedisClient, disconnectRedisClient, waitForRedis } from '../src/redis/redis-client.js';
import { EventLoopDelayMonitor } from '../src/telemetry/event-loop-delay.js';
import { createLogger } from '../src/telemetry/logger.js';
import type { RedisWriterApi, RedisWriterInit } from './redis-writer/protocol.js';
import { WriterLoop } from './redis-writer/writer-loop.js';

const DRAIN_POLL_MS = 5;

hostActor<RedisWriterInit, RedisWriterApi>(async (init) => {
  const log = createLogger(init.actorId, init.logLevel);
  const connections = Array.from({ length: init.redisConnections }, (_, index) => {
    const name = `${init.actorId}:${index}`;
    return logConnectionHealth(createRedisClient(init.redis, name), name, log);
  });
  await Promise.all(connections.map((redis) => waitForRedis(redis, 15_000)));
  const redis = connections[0]!;
  const loop = new WriterLoop(init, connections.map((connection) => new BucketStore(connection, init.buckets, { waitReplicas: init.waitReplicas })), log);
  loop.start();
  const loopDelay = new EventLoopDelayMonitor();
  log.debug({ rings: init.eventRings.length }, 'writer ready');

  return {
    async status() {
      return { actorId: init.actorId, redis: redis.status, redisConnections: connections.map((connection) => connection.status), ...loop.status(), eventLoop: loopDelay.read() };
    },
    async drain(timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while (!loop.isIdle()) {
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
      return true;
    },
    async stop() {
      loopDelay.stop();
      await loop.stop();
      await Promise.all(connections.map((connection) => connection.quit().catch(() => undefined)));
      connections.forEach(disconnectRedisClient);
    },
  };
});
