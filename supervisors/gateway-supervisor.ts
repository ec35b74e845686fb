// The gateway subtree: C connection actors sharing the one student port. A restarted actor gets
// a fresh share of the port and its same rings; its students reconnect and resend.

import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { UntradexConfig } from '../src/config/schema.js';
import type { RedisTarget } from '../src/redis/redis-client.js';
import { createAddressTable, reclaimAddresses } from '../actors/connection/address-table.js';
import { reclaimConnections } from '../actors/connection/connection-count.js';
import type { ConnectionActorApi, ConnectionActorInit } from '../actors/connection/protocol.js';
import { createUnwelcomedMemory, reclaimUnwelcomed } from '../actors/connection/unwelcomed-sockets.js';
import { ActorThread } from './actor-thread.js';
import type { ListenSocket } from './listen-socket.js';
import type { RingTopology } from './ring-topology.js';
import { ACTOR_SHUTDOWN_MS } from '../src/stop-timeouts.js';
import { supervisorFlags } from './restart-intensity.js';
import { Supervisor } from './supervisor.js';

export type ConnectionActor = ActorThread<ConnectionActorApi>;

export function createGatewaySupervisor(
  config: UntradexConfig,
  topology: RingTopology,
  listenSocket: ListenSocket,
  redis: RedisTarget,
  log: Logger,
  storageGate?: SharedArrayBuffer,
): Supervisor<ConnectionActor> {
  const { gateway } = config;
  // Owned here, on the main thread, so it outlives every connection actor it counts for.
  const addressTable = createAddressTable(gateway.maxConnectionsPerAddress > 0 ? gateway.maxConnections : 0);
  const unwelcomed = createUnwelcomedMemory(topology.connectionActors, Math.min(gateway.maxUnwelcomed, gateway.maxConnections));
  const specs = Array.from({ length: topology.connectionActors }, (_, index) => {
    const id = `connection-${index}`;
    return {
      id,
      restart: 'permanent' as const,
      shutdownMs: ACTOR_SHUTDOWN_MS,
      start: async (incarnation: number) => {
        // The previous incarnation's sockets died with it; their places under maxConnections did not.
        if (incarnation > 1) {
          const held = reclaimConnections(topology.connectionCount, index);
          if (held !== 0) log.info({ actor: id, sockets: held }, 'gave back the connection places of the crashed actor');
          reclaimAddresses(addressTable, index, topology.connectionActors);
          reclaimUnwelcomed(unwelcomed, index, topology.connectionActors);
        }
        const init: ConnectionActorInit = {
          actorId: id,
          actorIndex: index,
          incarnation,
          listen: await listenSocket.specForActor(),
          eventRings: topology.eventRings[index]!,
          ackRings: topology.ackRings.map((row) => row[index]!),
          writerDoorbells: topology.writerDoorbells,
          doorbell: topology.connectionDoorbells[index]!,
          connectionCount: topology.connectionCount,
          wireTallies: topology.wireTallies[index]!,
          addressTable,
          unwelcomed,
          redis,
          buckets: config.redis.buckets,
          waitReplicas: config.redis.waitReplicas,
          directInFlight: config.writers.directInFlight,
          ...(storageGate === undefined ? {} : { storageGate }),
          authSecret: config.auth.secret,
          limits: {
            helloTimeoutMs: gateway.helloTimeoutMs,
            maxFrameBytes: gateway.maxFrameBytes,
            maxValueBytes: gateway.maxValueBytes,
            maxConnections: gateway.maxConnections,
            maxConnectionsPerAddress: gateway.maxConnectionsPerAddress,
            maxUnwelcomed: gateway.maxUnwelcomed,
            maxUnwelcomedPerAddress: gateway.maxUnwelcomedPerAddress,
            pingIntervalMs: gateway.pingIntervalMs,
            rateLimit: gateway.rateLimit,
            tls: gateway.tls.certFile === null || gateway.tls.keyFile === null ? null : { certFile: resolve(gateway.tls.certFile), keyFile: resolve(gateway.tls.keyFile) },
          },
          presence: gateway.presence,
          logLevel: config.log.level,
          traceExams: config.log.traceExams,
        };
        return ActorThread.start<ConnectionActorInit, ConnectionActorApi>({ id, entry: new URL('../actors/connection-actor.js', import.meta.url), init, log });
      },
    };
  });
  return new Supervisor<ConnectionActor>('gateway', supervisorFlags('gateway', config.supervision), specs, log);
}
