// The Redis writer actor's messages: its init (rings, Redis, batching) and its control API.
// Events arrive through rings, not through this API; the API is only the control plane.

import type { WriterLoopPhase } from '../../src/control/writer-stall.js';
import type { ShardIsolationStatus } from './shard-isolation.js';
import type { RedisTarget } from '../../src/redis/redis-client.js';
import type { EventLoopDelay } from '../../src/telemetry/event-loop-delay.js';

export interface RedisWriterInit {
  actorId: string;
  writerIndex: number;
  /** eventRings[c]: the ring from connection actor c to this writer. */
  eventRings: SharedArrayBuffer[];
  /** ackRings[c]: the ring from this writer back to connection actor c. */
  ackRings: SharedArrayBuffer[];
  doorbell: SharedArrayBuffer;
  connectionDoorbells: SharedArrayBuffer[];
  redis: RedisTarget;
  buckets: number;
  /** Replicas that must confirm a batch's writes before its events are acked (redis.waitReplicas). */
  waitReplicas: number;
  batchMaxEvents: number;
  lingerMs: number;
  /** writers.shardWaitMs when redis is a Cluster, else absent (WriterLoopOptions.shardWaitMs). */
  shardWaitMs?: number;
  redisConnections: number;
  logLevel: string;
  /** Rule S3: closed by the disk watcher while dataDir's disk is below storage.minFreeBytes. */
  storageGate?: SharedArrayBuffer;
}

/** The counters, plus where the loop is (phase, phaseMs, batchEvents, redisConnections: src/control/writer-stall.ts). */
export interface RedisWriterStatus extends WriterLoopPhase {
  actorId: string;
  batches: number;
  eventsStored: number;
  duplicates: number;
  refused: number;
  /** Events isolated as the one a batch's write raised on, answered nack bad_event (poison-isolation.ts). */
  badEvents: number;
  /** Batches sent again whole after a failure (Redis down, a timeout...). */
  failedBatches: number;
  /** Batches whose write raised and whose failed buckets were written again in halves. */
  isolatedBatches: number;
  lastBatchEvents: number;
  lastBatchMs: number;
  /** Bytes waiting in each incoming ring. */
  ringUsedBytes: number[];
  /** Redis Cluster only (null on a single Redis): buckets down and students held back by this writer. */
  shards: ShardIsolationStatus | null;
  redis: string;
  /** How late this actor's thread ran its callbacks over the last 10 s. */
  eventLoop: EventLoopDelay;
}

export interface RedisWriterApi {
  status(): Promise<RedisWriterStatus>;
  /** Resolves true once every incoming ring is empty and nothing is in flight, false on timeout. */
  drain(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}
