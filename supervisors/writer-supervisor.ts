// The writer subtree: W Redis writer actors, one-for-one. A restarted writer is handed the same
// rings, so it resumes from their read indices and nothing it had taken is lost.

import type { Logger } from 'pino';
import type { UntradexConfig } from '../src/config/schema.js';
import { isClusterTarget, type RedisTarget } from '../src/redis/redis-client.js';
import type { RedisWriterApi, RedisWriterInit } from '../actors/redis-writer/protocol.js';
import { ActorThread } from './actor-thread.js';
import type { RingTopology } from './ring-topology.js';
import { supervisorFlags } from './restart-intensity.js';
import { Supervisor } from './supervisor.js';

export type WriterActor = ActorThread<RedisWriterApi>;

export function createWriterSupervisor(config: UntradexConfig, topology: RingTopology, redis: RedisTarget, log: Logger, storageGate?: SharedArrayBuffer): Supervisor<WriterActor> {
  const specs = Array.from({ length: topology.writers }, (_, writer) => {
    const id = `writer-${writer}`;
    const init: RedisWriterInit = {
      actorId: id,
      writerIndex: writer,
      eventRings: topology.eventRings.map((row) => row[writer]!),
      ackRings: topology.ackRings[writer]!,
      doorbell: topology.writerDoorbells[writer]!,
      connectionDoorbells: topology.connectionDoorbells,
      redis,
      buckets: config.redis.buckets,
      waitReplicas: config.redis.waitReplicas,
      batchMaxEvents: config.writers.batchMaxEvents,
      lingerMs: config.writers.lingerMs,
      redisConnections: config.writers.redisConnections,
      logLevel: config.log.level,
      ...(storageGate === undefined ? {} : { storageGate }),
      // A single Redis is one failure domain: its writers keep rewinding a failed batch (students stay connected).
      ...(isClusterTarget(redis) ? { shardWaitMs: config.writers.shardWaitMs } : {}),
    };
    return {
      id,
      restart: 'permanent' as const,
      shutdownMs: 15_000,
      start: () => ActorThread.start<RedisWriterInit, RedisWriterApi>({ id, entry: new URL('../actors/redis-writer-actor.js', import.meta.url), init, log }),
    };
  });
  return new Supervisor<WriterActor>('writers', supervisorFlags('writers', config.supervision), specs, log);
}
