// The system status as OpenTelemetry instruments (@opentelemetry/api): observable counters and
// gauges whose one batch callback reads the status only when an SDK collects, so it costs nothing
// when nobody listens. /metrics (Prometheus text) and OTLP are two readers of these instruments
// (metrics-pipeline.ts); an embedding application's own global SDK receives them too. Names
// become the ux_* Prometheus names by the exporter's rule: dots to underscores, counters + _total.

import { metrics, type BatchObservableResult, type Meter, type Observable } from '@opentelemetry/api';
import type { SystemStatus } from '../control/control-backend.js';

export const METER_NAME = 'untradex';

/** Registers the instruments on `meter` (the global one by default); returns a function that unregisters them. */
export function exposeStatusAsOtelMetrics(readStatus: () => Promise<SystemStatus>, meter: Meter = metrics.getMeter(METER_NAME)): () => void {
  const gauge = (name: string, description: string, unit?: string) => meter.createObservableGauge(name, unit === undefined ? { description } : { description, unit });
  const counter = (name: string, description: string) => meter.createObservableCounter(name, { description });
  const instruments = {
    connections: gauge('ux.connections', 'Open student sockets.'),
    live: gauge('ux.connections.live', 'Student sockets past welcome.'),
    unwelcomed: gauge('ux.connections.unwelcomed', 'Sockets upgraded and not yet welcomed (gateway.maxUnwelcomed caps them).'),
    blocked: gauge('ux.connections.blocked', 'Sockets paused because a ring was full.'),
    rejectedUpgrades: counter('ux.upgrades.rejected', 'Upgrades refused by connection caps.'),
    forwarded: counter('ux.events.forwarded', 'Events put into rings.'),
    direct: counter('ux.events.direct', 'Events a quiet connection actor wrote to Redis itself (writers.directInFlight).'),
    stored: counter('ux.events.stored', 'Events durably stored in Redis.'),
    duplicates: counter('ux.events.duplicate', 'Resent events answered as duplicates.'),
    refused: counter('ux.events.refused', 'Events refused by the write function (closed, submitted, stale).'),
    badEvents: counter('ux.events.bad', 'Events whose write raised every time, isolated by a writer and nacked bad_event.'),
    unavailable: counter('ux.events.unavailable', 'Events not stored for now because their Cluster shard failed or was late (err busy, 1013; resent by the client).'),
    heldBack: gauge('ux.students.held_back', 'Sessions refused until they reconnect, their Cluster shard having failed or been late.'),
    perSecond: gauge('ux.events.per_second', 'Stored events per second, recent.'),
    acks: counter('ux.acks.sent', 'Ack frames sent.'),
    nacksSent: counter('ux.nacks.sent', 'Nack frames sent by writers.'),
    nacks: counter('ux.nacks', 'Nack frames sent to students, by code (writers\' and the gateway\'s bad_event).'),
    errs: counter('ux.errs', 'Err frames sent to students, by code.'),
    closes: counter('ux.closes', 'Student sockets closed, by close code: the server\'s when it closed, else the client\'s (1006: dropped).'),
    ringFill: gauge('ux.ring.fill_ratio', 'Bytes waiting in event rings over their capacity.'),
    freeBytes: gauge('ux.storage.free_bytes', 'Free bytes on the disk of dataDir (rule S3).', 'By'),
    minFreeBytes: gauge('ux.storage.min_free_bytes', 'storage.minFreeBytes: below it no new event is acked.', 'By'),
    restarts: counter('ux.actor.restarts', 'Restarts per actor.'),
    actorUp: gauge('ux.actor.up', '1 when the actor is running.'),
    loopP99: gauge('ux.actor.event_loop_delay_p99_seconds', 'How late the actor thread ran its callbacks, p99 over the last 10 s (a loaded thread delays acks).', 's'),
    loopMax: gauge('ux.actor.event_loop_delay_max_seconds', 'How late the actor thread ran its callbacks, worst over the last 10 s.', 's'),
    redisUp: gauge('ux.redis.up', '1 when the root Redis connection is ready.'),
    uptime: gauge('ux.uptime_seconds', 'Seconds since start.', 's'),
    exportRows: counter('ux.export.rows', 'Rows committed to the result database by this process\'s exports.'),
    exportBuckets: counter('ux.export.buckets_done', 'Buckets committed and marked done by this process\'s exports.'),
    exportErrors: counter('ux.export.bucket_errors', 'Bucket export attempts that failed (retried or not), by error code.'),
    exportRate: gauge('ux.export.rows_per_second', 'Rows per second of the exports running now, each since it started.'),
    exportsRunning: gauge('ux.exports.running', 'Export jobs running in this process.'),
  };
  const observables: Observable[] = Object.values(instruments);
  const callback = async (result: BatchObservableResult) => {
    const status = await readStatus();
    const { connections, events } = status;
    result.observe(instruments.connections, connections.total);
    result.observe(instruments.live, connections.live);
    result.observe(instruments.unwelcomed, connections.unwelcomed);
    result.observe(instruments.blocked, connections.blocked);
    result.observe(instruments.rejectedUpgrades, connections.rejectedUpgrades);
    result.observe(instruments.forwarded, events.forwarded);
    result.observe(instruments.direct, events.direct);
    result.observe(instruments.stored, events.stored);
    result.observe(instruments.duplicates, events.duplicates);
    result.observe(instruments.refused, events.refused);
    result.observe(instruments.badEvents, events.badEvents);
    result.observe(instruments.unavailable, events.unavailable);
    if (status.heldBack !== undefined) result.observe(instruments.heldBack, status.heldBack.students);
    result.observe(instruments.perSecond, events.perSecond);
    result.observe(instruments.acks, status.acks.sent);
    result.observe(instruments.nacksSent, status.acks.nacks);
    for (const [code, count] of Object.entries(status.frames.nacks)) result.observe(instruments.nacks, count, { code });
    for (const [code, count] of Object.entries(status.frames.errs)) result.observe(instruments.errs, count, { code });
    for (const [code, count] of Object.entries(status.frames.closes)) result.observe(instruments.closes, count, { code });
    result.observe(instruments.ringFill, status.rings.fill);
    if (status.storage !== undefined && status.storage.freeBytes !== null) {
      result.observe(instruments.freeBytes, status.storage.freeBytes);
      result.observe(instruments.minFreeBytes, status.storage.minFreeBytes);
    }
    for (const actor of status.actors) {
      result.observe(instruments.restarts, actor.restarts, { actor: actor.id });
      result.observe(instruments.actorUp, actor.status === 'running' ? 1 : 0, { actor: actor.id });
      if (actor.eventLoop !== undefined) {
        result.observe(instruments.loopP99, actor.eventLoop.p99Ms / 1000, { actor: actor.id });
        result.observe(instruments.loopMax, actor.eventLoop.maxMs / 1000, { actor: actor.id });
      }
    }
    result.observe(instruments.redisUp, status.redis.status === 'ready' ? 1 : 0);
    result.observe(instruments.uptime, status.uptimeSeconds);
    if (status.export !== undefined) {
      result.observe(instruments.exportRows, status.export.rows);
      result.observe(instruments.exportBuckets, status.export.bucketsDone);
      for (const [code, count] of Object.entries(status.export.bucketErrors)) result.observe(instruments.exportErrors, count, { code });
      result.observe(instruments.exportRate, status.export.rowsPerSecond);
      result.observe(instruments.exportsRunning, status.export.running);
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
