// The engine of one Redis writer: take what the rings hold (up to a batch, after a short linger),
// its buckets together in one FCALL per 512 events (one per bucket on a Cluster), acks back, and
// only then free ring space.
// One batch is in flight at a time: were a batch to fail while a later one succeeded, a student's
// earlier events would then look like duplicates of the later ones and be acked without being stored.
// On a Redis Cluster a bucket that fails or is late is answered Unavailable alone (shard-isolation.ts).

import type { Logger } from 'pino';
import { cappedBackoff } from '../../src/backoff.js';
import { faults } from '../../src/actor-runtime/fault-injection.js';
import { WriteOutcome } from '../../src/events/answer-event.js';
import type { BucketStore, EventToWrite } from '../../src/redis/bucket-store.js';
import { ACK_RECORD_BYTES, encodeAckRecord } from '../../src/ring/ack-record.js';
import { Doorbell } from '../../src/ring/doorbell.js';
import { decodeEventRecord } from '../../src/ring/event-record.js';
import { RingConsumer } from '../../src/ring/ring-consumer.js';
import { RingProducer } from '../../src/ring/ring-producer.js';
import type { WriterPhase } from '../../src/control/writer-stall.js';
import { storageOpen } from '../../src/storage/storage-gate.js';
import { groupByBucket, splitIntoCalls, type BatchEntry, type BucketGroup } from './batch-groups.js';
import { isolatePoison, isPoisonCandidate } from './poison-isolation.js';
import type { RedisWriterStatus } from './protocol.js';
import { ShardIsolation } from './shard-isolation.js';

export interface WriterLoopOptions {
  actorId: string;
  eventRings: SharedArrayBuffer[];
  ackRings: SharedArrayBuffer[];
  doorbell: SharedArrayBuffer;
  connectionDoorbells: SharedArrayBuffer[];
  batchMaxEvents: number;
  lingerMs: number;
  /** Rule S3: while the disk watcher holds this closed, nothing is taken from the rings. */
  storageGate?: SharedArrayBuffer;
  /**
   * Redis Cluster only (writers.shardWaitMs): each bucket's call gets this long, and a bucket that
   * fails transiently or is late is answered Unavailable while the others are acked. Absent on a
   * single Redis, one failure domain, where a failed batch is rewound and sent again whole.
   */
  shardWaitMs?: number;
}

/** The doorbell wakes an idle writer; the timeout is a safety net only (100 ms woke it 10 times a second). */
const IDLE_WAIT_MS = 1_000;
/** How often a writer held back by a full disk looks at the storage gate again. */
const STORAGE_GATE_POLL_MS = 100;
const ACK_RING_FULL_WAIT_MS = 1;
/** A failed batch waits 10, 50, 250, then 1000 ms before it is tried again (the rings hold it). */
const retryDelay = cappedBackoff({ baseMs: 10, factor: 5, maxMs: 1000, jitter: 'none', firstAttempt: 0 });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class WriterLoop {
  private readonly consumers: RingConsumer[];
  private readonly ackProducers: RingProducer[];
  private readonly doorbell: Doorbell;
  private readonly connectionDoorbells: Doorbell[];
  private running = false;
  private stopped: Promise<void> = Promise.resolve();
  private inFlight = false;
  private nextRing = 0;
  private consecutiveFailures = 0;
  /** Where the loop is, for status (src/control/writer-stall.ts): a stuck batch shows as a long `writing`. */
  private phase: WriterPhase = 'idle';
  private phaseSince = performance.now();
  private batchEvents = 0;
  private readonly shards: ShardIsolation | null;
  private readonly counters = {
    batches: 0,
    eventsStored: 0,
    duplicates: 0,
    refused: 0,
    badEvents: 0,
    failedBatches: 0,
    isolatedBatches: 0,
    lastBatchEvents: 0,
    lastBatchMs: 0,
  };

  /**
   * @param stores one per Redis connection. A batch's calls go out on them at once, and one fsync
   *   covers the calls of every connection; one batch in flight keeps a student's calls in order.
   *   On a Cluster (and when isolating a poison event) a bucket goes through `stores[bucket % n]`.
   */
  constructor(
    private readonly options: WriterLoopOptions,
    private readonly stores: readonly BucketStore[],
    private readonly log: Logger,
  ) {
    // A restarted writer builds fresh views on the same rings: the consumer resumes at the shared
    // read index, so a batch the dead writer had in flight is read (and deduped) again.
    this.consumers = options.eventRings.map((sab) => new RingConsumer(sab));
    this.ackProducers = options.ackRings.map((sab) => new RingProducer(sab));
    this.doorbell = new Doorbell(options.doorbell);
    this.connectionDoorbells = options.connectionDoorbells.map((sab) => new Doorbell(sab));
    this.shards = options.shardWaitMs === undefined ? null : new ShardIsolation(options.shardWaitMs);
  }

  start(): void {
    this.running = true;
    this.stopped = this.run().catch((error: unknown) => {
      // The loop itself failing is a bug: crash the thread so the supervisor restarts it.
      this.log.fatal({ err: error }, 'writer loop failed');
      setImmediate(() => {
        throw error;
      });
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.doorbell.ring();
    await this.stopped;
  }

  /** True when no ring holds unread or unreleased events and no batch is in flight. */
  isIdle(): boolean {
    return !this.inFlight && this.consumers.every((consumer) => consumer.usedBytes() === 0);
  }

  status(): Omit<RedisWriterStatus, 'actorId' | 'redis' | 'eventLoop' | 'redisConnections'> {
    return {
      ...this.counters,
      ringUsedBytes: this.consumers.map((consumer) => consumer.usedBytes()),
      shards: this.shards?.status() ?? null,
      phase: this.phase,
      phaseMs: Math.round(performance.now() - this.phaseSince),
      batchEvents: this.batchEvents,
    };
  }

  private enter(phase: WriterPhase): void {
    if (phase === this.phase) return;
    this.phase = phase;
    this.phaseSince = performance.now();
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (!storageOpen(this.options.storageGate)) {
        // The disk of dataDir is nearly full: events wait in the rings, which fill and pause
        // sockets (rule 6), rather than reach a Redis that could not keep them.
        this.enter('gated');
        await sleep(STORAGE_GATE_POLL_MS);
        continue;
      }
      const seen = this.doorbell.snapshot();
      let batch = this.collect([]);
      if (batch.length === 0) {
        this.enter('idle');
        await this.doorbell.wait(seen, IDLE_WAIT_MS);
        continue;
      }
      if (batch.length < this.options.batchMaxEvents && this.options.lingerMs > 0) {
        // A short linger lets a burst join one batch: one fsync then covers many students.
        this.enter('lingering');
        await sleep(this.options.lingerMs);
        batch = this.collect(batch);
      }
      await this.writeBatch(batch);
    }
    this.enter('idle');
  }

  /** Reads up to the batch limit, round-robin over rings so no connection actor starves. */
  private collect(batch: BatchEntry[]): BatchEntry[] {
    const rings = this.consumers.length;
    for (let step = 0; step < rings && batch.length < this.options.batchMaxEvents; step += 1) {
      const ring = (this.nextRing + step) % rings;
      const consumer = this.consumers[ring]!;
      consumer.read((record) => {
        batch.push({ ring, envelope: decodeEventRecord(record) });
      }, this.options.batchMaxEvents - batch.length);
    }
    this.nextRing = (this.nextRing + 1) % rings;
    return batch;
  }

  private async writeBatch(batch: BatchEntry[]): Promise<void> {
    this.inFlight = true;
    this.batchEvents = batch.length;
    this.enter('writing');
    const started = performance.now();
    const positions = this.consumers.map((consumer) => consumer.position());
    try {
      const groups = groupByBucket(batch);
      const outcomes = this.shards === null ? await this.writeGroups(groups) : await this.writeShardGroups(groups, this.shards);
      const touched = new Set<number>();
      groups.forEach((group, index) => {
        const results = outcomes[index]!;
        group.entries.forEach((entry, position) => {
          this.count(results[position]!);
          touched.add(entry.ring);
        });
      });
      // Fault tests crash the writer here: Redis has the batch, nobody has been told.
      if (faults.armed) await faults.reach('writer.afterFcall');
      // Acks go back in the order the events came, per ring, so cumulative acks stay truthful.
      this.enter('acking');
      await this.postAcks(batch, groups, outcomes);
      if (faults.armed) await faults.reach('writer.afterAcks');
      // Only now is the ring space freed: a crash before this line re-reads the batch, and the
      // write function answers those events as duplicates.
      this.consumers.forEach((consumer, ring) => consumer.release(positions[ring]!));
      for (const ring of touched) this.connectionDoorbells[ring]!.ring();
      this.counters.batches += 1;
      this.counters.lastBatchEvents = batch.length;
      this.counters.lastBatchMs = performance.now() - started;
      this.consecutiveFailures = 0;
    } catch (error) {
      this.counters.failedBatches += 1;
      const delay = retryDelay(this.consecutiveFailures);
      this.consecutiveFailures += 1;
      this.log.error({ err: error, events: batch.length, retryInMs: delay }, 'batch failed; it stays in the rings and will be written again');
      for (const consumer of this.consumers) consumer.rewind();
      this.enter('retrying');
      await sleep(delay);
    } finally {
      this.inFlight = false;
      this.batchEvents = 0;
    }
  }

  /**
   * A call of ux_write_many per EVENTS_PER_CALL events (batch-groups.ts), each on its own
   * connection, all at once (at a moderate load a batch holds one or two events per bucket, and a
   * call per bucket cost Redis and this thread more than the events). One batch is in flight, so a
   * student's events reach Redis in order whichever connection carries their bucket. Buckets hold
   * disjoint students, so a call that fails does not void the other calls' outcomes. When every failure is one write that
   * raised (possibly an event's fault), nothing of that call was written: each of its buckets is
   * written again alone, and a bucket that still raises is halved down to the event that raises,
   * which is answered BadEvent while the batch goes on. Any other failure rejects, and the caller
   * sends the whole batch again later, as for a Redis that is down.
   */
  private async writeGroups(groups: readonly BucketGroup[]): Promise<WriteOutcome[][]> {
    const settled = await this.writeInCalls(groups);
    const failures = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    if (failures.length === 0) return settled.map((result) => (result as PromiseFulfilledResult<WriteOutcome[]>).value);
    const transient = failures.find((error) => !isPoisonCandidate(error));
    if (transient !== undefined) throw transient;

    this.counters.isolatedBatches += 1;
    this.log.warn({ redisError: (failures[0] as Error).message, buckets: failures.length }, 'ux_write raised on a batch; writing its failed buckets in halves to find the event');
    const outcomes: WriteOutcome[][] = [];
    for (const [index, result] of settled.entries()) {
      if (result.status === 'fulfilled') {
        outcomes.push(result.value);
        continue;
      }
      const group = groups[index]!;
      const store = this.storeOf(group);
      const isolation = await isolatePoison(group.events, (events) => store.writeBatch(group.exam, group.bucket, events));
      for (const { event, error } of isolation.isolated) {
        this.log.error(
          { exam: group.exam, student: event.student, seq: event.seq, bucket: group.bucket, redisError: error.message, calls: isolation.calls },
          `event ${group.exam}/${event.student}/${event.seq} makes ux_write raise every time: answered nack bad_event, never stored (${error.message})`,
        );
      }
      outcomes.push(isolation.outcomes);
    }
    return outcomes;
  }

  /**
   * The batch in the calls splitIntoCalls makes of it, call i on connection i, settled per bucket.
   * A store that cannot take several buckets in one call (waitReplicas) gets one call per bucket.
   */
  private async writeInCalls(groups: readonly BucketGroup[]): Promise<PromiseSettledResult<WriteOutcome[]>[]> {
    const settled = new Array<PromiseSettledResult<WriteOutcome[]>>(groups.length);
    const alone = async (store: BucketStore, indices: readonly number[]) => {
      const results = await Promise.allSettled(indices.map((index) => store.writeBatch(groups[index]!.exam, groups[index]!.bucket, groups[index]!.events)));
      indices.forEach((index, position) => (settled[index] = results[position]!));
    };
    await Promise.all(splitIntoCalls(groups, this.stores.length).map(async (indices, call) => {
      const store = this.stores[call]!;
      if (indices.length === 1 || !store.writesBucketsTogether) return alone(store, indices);
      try {
        const outcomes = await store.writeBuckets(indices.map((index) => groups[index]!));
        indices.forEach((index, position) => (settled[index] = { status: 'fulfilled', value: outcomes[position]! }));
      } catch (error) {
        if (!isPoisonCandidate(error)) {
          for (const index of indices) settled[index] = { status: 'rejected', reason: error };
          return;
        }
        // The call wrote nothing (ux_write_many plans every bucket before writing any): each
        // bucket alone tells which one raises.
        await alone(store, indices);
      }
    }));
    return settled;
  }

  /**
   * Cluster mode: one FCALL per bucket, each within shardWaitMs. A bucket that is down, fails
   * transiently or is late gets Unavailable for every event (err busy, close 1013: the students
   * reconnect and resend), and the rest of the batch is acked at once. A poison candidate is
   * isolated as in writeGroups; a transient failure while isolating makes the bucket Unavailable.
   */
  private async writeShardGroups(groups: readonly BucketGroup[], shards: ShardIsolation): Promise<WriteOutcome[][]> {
    const outcomes = groups.map((group) => new Array<WriteOutcome>(group.events.length));
    const parts: { index: number; positions: number[]; events: EventToWrite[] }[] = [];
    groups.forEach((group, index) => {
      const positions: number[] = [];
      shards.refuseAtOnce(group.exam, group.bucket, group.events).forEach((refuse, position) => {
        if (refuse) outcomes[index]![position] = WriteOutcome.Unavailable;
        else positions.push(position);
      });
      if (positions.length > 0) parts.push({ index, positions, events: positions.map((position) => group.events[position]!) });
    });
    const results = await shards.within(parts.map((part) => {
      const group = groups[part.index]!;
      return this.storeOf(group).writeBatch(group.exam, group.bucket, part.events);
    }));
    for (const [n, part] of parts.entries()) {
      const group = groups[part.index]!;
      const result = results[n]!;
      let written: WriteOutcome[] | null = null;
      let failure: unknown = 'late' in result ? `no reply within writers.shardWaitMs (${this.options.shardWaitMs} ms)` : null;
      if (result.ok) written = result.value;
      else if ('error' in result && isPoisonCandidate(result.error)) {
        written = await this.isolate(group, part.events, result.error).catch((error: unknown) => {
          failure = error;
          return null;
        });
      } else if ('error' in result) failure = result.error;
      if (written !== null) {
        part.positions.forEach((position, offset) => (outcomes[part.index]![position] = written[offset]!));
        const downMs = shards.markUp(group.exam, group.bucket);
        if (downMs !== null) this.log.warn({ exam: group.exam, bucket: group.bucket, downMs: Math.round(downMs) }, `bucket ${group.exam}/${group.bucket} is written again after ${Math.round(downMs)} ms`);
        continue;
      }
      for (const position of part.positions) outcomes[part.index]![position] = WriteOutcome.Unavailable;
      if (shards.markDown(group.exam, group.bucket)) {
        this.log.warn(
          { exam: group.exam, bucket: group.bucket, err: failure, events: part.events.length },
          `bucket ${group.exam}/${group.bucket} cannot be written now (${failure instanceof Error ? failure.message : String(failure)}): its students get err busy and reconnect; other buckets go on`,
        );
      }
    }
    groups.forEach((group, index) => outcomes[index]!.forEach((outcome, position) => {
      if (outcome === WriteOutcome.Unavailable) shards.refused(group.exam, group.bucket, group.events[position]!);
    }));
    return outcomes;
  }

  /** Writes one bucket's events in halves to find the event that makes ux_write raise (poison-isolation.ts). */
  private async isolate(group: BucketGroup, events: readonly EventToWrite[], first: unknown): Promise<WriteOutcome[]> {
    this.counters.isolatedBatches += 1;
    this.log.warn({ redisError: (first as Error).message, exam: group.exam, bucket: group.bucket }, 'ux_write raised on a bucket; writing it in halves to find the event');
    const store = this.storeOf(group);
    const isolation = await isolatePoison(events, (part) => store.writeBatch(group.exam, group.bucket, part));
    for (const { event, error } of isolation.isolated) {
      this.log.error(
        { exam: group.exam, student: event.student, seq: event.seq, bucket: group.bucket, redisError: error.message, calls: isolation.calls },
        `event ${group.exam}/${event.student}/${event.seq} makes ux_write raise every time: answered nack bad_event, never stored (${error.message})`,
      );
    }
    return isolation.outcomes;
  }

  private storeOf(group: BucketGroup): BucketStore {
    return this.stores[group.bucket % this.stores.length]!;
  }

  private count(outcome: WriteOutcome): void {
    if (outcome === WriteOutcome.Stored) this.counters.eventsStored += 1;
    else if (outcome === WriteOutcome.Duplicate) this.counters.duplicates += 1;
    else if (outcome === WriteOutcome.BadEvent) this.counters.badEvents += 1;
    else if (outcome !== WriteOutcome.Unavailable) this.counters.refused += 1; // counted by ShardIsolation
  }

  private async postAcks(batch: BatchEntry[], groups: BucketGroup[], outcomes: WriteOutcome[][]): Promise<void> {
    const outcomeOf = new Map<BatchEntry, WriteOutcome>();
    groups.forEach((group, index) => group.entries.forEach((entry, position) => outcomeOf.set(entry, outcomes[index]![position]!)));
    const dirty = new Set<number>();
    for (const entry of batch) {
      const producer = this.ackProducers[entry.ring]!;
      let view = producer.tryReserve(ACK_RECORD_BYTES);
      while (view === null) {
        // The connection actor drains acks quickly; publish what we have and give it a moment.
        producer.publish();
        this.connectionDoorbells[entry.ring]!.ring();
        await sleep(ACK_RING_FULL_WAIT_MS);
        view = producer.tryReserve(ACK_RECORD_BYTES);
      }
      const { slot, generation, incarnation, event } = entry.envelope;
      encodeAckRecord({ slot, generation, incarnation, seq: event.seq, outcome: outcomeOf.get(entry)! }, view);
      dirty.add(entry.ring);
    }
    for (const ring of dirty) this.ackProducers[ring]!.publish();
  }
}
