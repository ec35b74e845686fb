// One process's status and readiness, gathered from its actors over comlink: what /api/status,
// /readyz and /metrics show for a single gateway process (a fleet sums several of these).

import type { Readiness, SystemStatus } from '../src/control/control-backend.js';
import type { RedisWriterStatus } from '../actors/redis-writer/protocol.js';
import type { ShardIsolationStatus } from '../actors/redis-writer/shard-isolation.js';
import type { HeldBackReport } from '../src/control/control-backend.js';
import { readWireTallies } from '../actors/connection/wire-tallies.js';
import { writerStallReason, type WriterLoopPhase } from '../src/control/writer-stall.js';
import { describeRedisTarget, isClusterTarget } from '../src/redis/redis-client.js';
import type { EventLoopDelay } from '../src/telemetry/event-loop-delay.js';
import type { RootSupervisor } from '../supervisors/root-supervisor.js';

export interface StatusSource {
  status(): Promise<SystemStatus>;
  readiness(): Promise<Readiness>;
}

const STATUS_CALL_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, fallback: T): Promise<T> {
  return Promise.race([promise, new Promise<T>((resolve) => setTimeout(resolve, STATUS_CALL_TIMEOUT_MS, fallback).unref())]).catch(() => fallback);
}

export class RootStatus implements StatusSource {
  private readonly startedAt = Date.now();
  private lastSample = { at: Date.now(), stored: 0 };
  private perSecond = 0;

  constructor(private readonly root: RootSupervisor) {}

  async status(): Promise<SystemStatus> {
    const report = await this.root.report();
    const [writers, connections] = await Promise.all([
      Promise.all(report.writers.map((writer) => withTimeout(writer.api.status(), null))),
      Promise.all(report.connections.map((actor) => withTimeout(actor.api.status(), null))),
    ]);
    const sum = <T>(items: (T | null)[], pick: (item: T) => number) => items.reduce((total, item) => total + (item === null ? 0 : pick(item)), 0);
    // Events the connection actors wrote themselves (writers.directInFlight) are stored events too.
    const stored = sum(writers, (writer) => writer.eventsStored) + sum(connections, (actor) => actor.directWrites.stored);
    const now = Date.now();
    if (now - this.lastSample.at >= 1000) {
      this.perSecond = Math.max(0, ((stored - this.lastSample.stored) * 1000) / (now - this.lastSample.at));
      this.lastSample = { at: now, stored };
    }
    const delays = new Map<string, EventLoopDelay>();
    for (const actor of [...writers, ...connections]) if (actor !== null) delays.set(actor.actorId, actor.eventLoop);
    const batches = new Map<string, WriterLoopPhase>();
    for (const writer of writers) if (writer !== null) batches.set(writer.actorId, writerLoopPhase(writer));
    const loopOf = (id: string) => {
      const eventLoop = delays.get(id);
      const writer = batches.get(id);
      return { ...(eventLoop === undefined ? {} : { eventLoop }), ...(writer === undefined ? {} : { writer }) };
    };
    const { config, topology } = this.root;
    // Read straight from the shared memory the actors write: no call into their threads.
    const wire = readWireTallies(topology.wireTallies);
    const usedBytes = sum(writers, (writer) => writer.ringUsedBytes.reduce((total, bytes) => total + bytes, 0));
    const capacityBytes = topology.connectionActors * topology.writers * config.gateway.ringBytes;
    let redisStatus = 'unknown';
    try {
      redisStatus = this.root.redis.status;
    } catch {
      redisStatus = 'not started';
    }
    return {
      state: this.root.state,
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      connections: {
        total: sum(connections, (actor) => actor.connections),
        live: sum(connections, (actor) => actor.live),
        blocked: sum(connections, (actor) => actor.blocked),
        rejectedUpgrades: sum(connections, (actor) => actor.rejectedUpgrades),
        unwelcomed: sum(connections, (actor) => actor.unwelcomed),
      },
      events: {
        forwarded: sum(connections, (actor) => actor.eventsForwarded),
        direct: sum(connections, (actor) => actor.directWrites.stored + actor.directWrites.duplicates + actor.directWrites.refused),
        stored,
        duplicates: sum(writers, (writer) => writer.duplicates) + sum(connections, (actor) => actor.directWrites.duplicates),
        refused: sum(writers, (writer) => writer.refused) + sum(connections, (actor) => actor.directWrites.refused),
        badEvents: sum(writers, (writer) => writer.badEvents),
        unavailable: sum(writers, (writer) => writer.shards?.unavailable ?? 0),
        perSecond: Math.round(this.perSecond),
      },
      acks: { sent: sum(connections, (actor) => actor.acksSent), nacks: sum(connections, (actor) => actor.nacksSent) },
      latency: { ack: wire.ackLatency, welcome: wire.welcomeLatency, upgrade: wire.upgradeLatency, helloWait: wire.helloWait },
      frames: wire.frames,
      rings: { usedBytes, capacityBytes, fill: capacityBytes === 0 ? 0 : usedBytes / capacityBytes },
      actors: report.children.map((child) => ({ ...child, ...loopOf(child.id) })),
      redis: {
        status: redisStatus,
        target: describeRedisTarget(this.root.redisTarget),
        embedded: config.redis.embedded,
        appendfsync: config.redis.appendfsync,
        servers: this.root.durability.map(({ node, appendonly, appendfsync, maxmemoryPolicy, problem }) => ({ node, appendonly, appendfsync, maxmemoryPolicy, problem })),
        ...(this.root.shards === null ? {} : { shards: this.root.shards.map((shard) => ({ ...shard, replicas: shard.replicas.map((replica) => ({ ...replica })) })) }),
      },
      ...(this.root.diskWatcher === null ? {} : { storage: this.root.diskWatcher.status() }),
      ...(isClusterTarget(this.root.redisTarget) ? { heldBack: mergeHeldBack(writers.map((writer) => writer?.shards ?? null)) } : {}),
    };
  }

  async readiness(): Promise<Readiness> {
    const reasons: string[] = [];
    if (this.root.state !== 'running') reasons.push(`untradex is ${this.root.state}`);
    try {
      const pong = await withTimeout(this.root.redis.ping(), 'timeout');
      if (pong !== 'PONG') reasons.push(`redis did not answer PING (${pong})`);
    } catch (error) {
      reasons.push(`redis unreachable: ${(error as Error).message}`);
    }
    if (!this.root.allActorsRunning()) reasons.push('an actor is restarting or has failed');
    const { writers } = await this.root.report();
    for (const writer of await Promise.all(writers.map((actor) => withTimeout(actor.api.status(), null)))) {
      const stalled = writer === null ? null : writerStallReason(writer.actorId, writer);
      if (stalled !== null) reasons.push(stalled);
    }
    for (const node of this.root.durability) if (node.problem !== null) reasons.push(`redis durability: ${node.problem}`);
    for (const shard of this.root.shards ?? []) if (!shard.ok) reasons.push(`redis shard ${shard.primary}: ${shard.reason}`);
    const disk = this.root.diskWatcher?.readinessReason() ?? null;
    if (disk !== null) reasons.push(disk);
    return { ready: reasons.length === 0, reasons };
  }
}

/** Sums the writers' held-back sessions (a session is held by the one writer of its bucket). */
export function mergeHeldBack(parts: readonly (ShardIsolationStatus | HeldBackReport | null | undefined)[]): HeldBackReport {
  const merged: HeldBackReport = { students: 0, byBucket: {}, downBuckets: [] };
  const down = new Set<string>();
  for (const part of parts) {
    if (part === null || part === undefined) continue;
    const byBucket = 'heldBackByBucket' in part ? part.heldBackByBucket : part.byBucket;
    merged.students += 'heldBack' in part ? part.heldBack : part.students;
    for (const [bucket, students] of Object.entries(byBucket)) merged.byBucket[bucket] = (merged.byBucket[bucket] ?? 0) + students;
    for (const bucket of part.downBuckets) down.add(bucket);
  }
  merged.downBuckets = [...down].sort();
  return merged;
}

/** The part of a writer's status that says where its loop is (the rest are counters). */
function writerLoopPhase(status: RedisWriterStatus): WriterLoopPhase {
  const { phase, phaseMs, batchEvents, redisConnections } = status;
  return { phase, phaseMs, batchEvents, redisConnections };
}
