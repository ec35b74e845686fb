// The connection actor's messages: its init (listener, rings, limits) and its control API.
// Student traffic never passes through this API; it is the control plane only.

import type { RedisTarget } from '../../src/redis/redis-client.js';
import type { UnwelcomedMemory } from './unwelcomed-sockets.js';
import type { EventLoopDelay } from '../../src/telemetry/event-loop-delay.js';

/**
 * The gateway socket's accept queue. An exam's start spike opens thousands of connections in one
 * second; with Node's default of 511 the queue overflows and clients wait out SYN retransmits
 * (1, 3, 7, 15 s...). The kernel caps it at net.core.somaxconn. Every listen() on the socket sets
 * it again, so each actor passes it too, not only the process that opened the socket.
 */
export const GATEWAY_LISTEN_BACKLOG = 4096;

/** How the actor gets its share of the one gateway port. */
export type ListenSpec =
  /** Node >= 22.12: every actor binds the port itself with SO_REUSEPORT. */
  | { kind: 'reusePort'; host: string; port: number }
  /** Node 20: a duplicate of the root's listening socket, owned by this actor alone. */
  | { kind: 'fd'; fd: number };

export interface ConnectionLimits {
  helloTimeoutMs: number;
  maxFrameBytes: number;
  maxValueBytes: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  maxUnwelcomed: number;
  maxUnwelcomedPerAddress: number;
  pingIntervalMs: number;
  rateLimit: { eventsPerSecond: number; burst: number; abuseStrikes: number };
  /** `gateway.tls`: PEM files; null serves plain ws:// and http://. */
  tls: { certFile: string; keyFile: string } | null;
}

export interface ConnectionActorInit {
  actorId: string;
  actorIndex: number;
  /** Grows with every restart; acks addressed to an older incarnation are dropped. */
  incarnation: number;
  listen: ListenSpec;
  /** eventRings[w]: this actor's ring to writer w. */
  eventRings: SharedArrayBuffer[];
  /** ackRings[w]: writer w's ring back to this actor. */
  ackRings: SharedArrayBuffer[];
  writerDoorbells: SharedArrayBuffer[];
  doorbell: SharedArrayBuffer;
  connectionCount: SharedArrayBuffer;
  /** This actor's latency histograms and frame counts, owned by the root (wire-tallies.ts). */
  wireTallies: SharedArrayBuffer;
  /** Live sockets per source address, shared by the process's connection actors (address-table.ts). */
  addressTable: SharedArrayBuffer;
  /** Sockets not yet welcomed, in all and per address (unwelcomed-sockets.ts). */
  unwelcomed: UnwelcomedMemory;
  redis: RedisTarget;
  buckets: number;
  /** Replicas that must confirm a session claim before its welcome (redis.waitReplicas). */
  waitReplicas: number;
  /** writers.directInFlight: events this actor may write to Redis itself while quiet; 0: none. */
  directInFlight: number;
  /** Rule S3's gate, closed by the disk watcher: no direct write either while it is. */
  storageGate?: SharedArrayBuffer;
  authSecret: string;
  limits: ConnectionLimits;
  /** gateway.presence: how often this actor tells Redis which students it holds, and for how long it counts. */
  presence: { refreshMs: number; ttlMs: number };
  logLevel: string;
  /** log.traceExams: exams whose students' connection stories are logged at info level. */
  traceExams: string[];
}

export interface ConnectionStatus {
  actorId: string;
  connections: number;
  live: number;
  /** Sockets paused because a ring to a writer was full, or the actor's own writes held as many events as they may (Redis slow or down). */
  blocked: number;
  /** Events put into the rings to the writers. */
  eventsForwarded: number;
  /** Events this actor wrote to Redis itself while quiet (writers.directInFlight); fellBack: handed to the writers after a failed write. */
  directWrites: { stored: number; duplicates: number; refused: number; fellBack: number };
  acksSent: number;
  nacksSent: number;
  rejectedUpgrades: number;
  /** Sockets upgraded and not yet welcomed. */
  unwelcomed: number;
  /** How late this actor's thread ran its callbacks over the last 10 s. */
  eventLoop: EventLoopDelay;
}

export interface ConnectionActorApi {
  status(): Promise<ConnectionStatus>;
  /** Stops accepting sockets and stops reading from the open ones; held events go into the rings. */
  quiesce(): Promise<void>;
  /** Waits until every forwarded event was answered, sends the last acks, closes every socket. */
  finish(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}
