// Renders the system status in the Prometheus text exposition format (version 0.0.4) for
// GET /metrics: the same figures as /api/status, named ux_* with their types.

import type { EventLoopDelay } from '../telemetry/event-loop-delay.js';
import type { SystemStatus } from './control-backend.js';

interface Metric {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  samples: Array<{ labels?: Record<string, string>; value: number }>;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function format(metric: Metric): string {
  const lines = [`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`];
  for (const sample of metric.samples) {
    const labels = sample.labels === undefined ? '' : `{${Object.entries(sample.labels).map(([key, value]) => `${key}="${escapeLabel(value)}"`).join(',')}}`;
    lines.push(`${metric.name}${labels} ${Number.isFinite(sample.value) ? sample.value : 0}`);
  }
  return lines.join('\n');
}

function loopSamples(status: SystemStatus, pick: (delay: EventLoopDelay) => number): Metric['samples'] {
  return status.actors.flatMap((actor) => (actor.eventLoop === undefined ? [] : [{ labels: { actor: actor.id }, value: pick(actor.eventLoop) / 1000 }]));
}

export function renderMetrics(status: SystemStatus): string {
  const metrics: Metric[] = [
    { name: 'ux_connections', type: 'gauge', help: 'Open student sockets.', samples: [{ value: status.connections.total }] },
    { name: 'ux_connections_live', type: 'gauge', help: 'Student sockets past welcome.', samples: [{ value: status.connections.live }] },
    { name: 'ux_connections_unwelcomed', type: 'gauge', help: 'Sockets upgraded and not yet welcomed (gateway.maxUnwelcomed caps them).', samples: [{ value: status.connections.unwelcomed }] },
    { name: 'ux_connections_blocked', type: 'gauge', help: 'Sockets paused because a ring was full.', samples: [{ value: status.connections.blocked }] },
    { name: 'ux_upgrades_rejected_total', type: 'counter', help: 'Upgrades refused by connection caps.', samples: [{ value: status.connections.rejectedUpgrades }] },
    { name: 'ux_events_forwarded_total', type: 'counter', help: 'Events put into rings.', samples: [{ value: status.events.forwarded }] },
    { name: 'ux_events_stored_total', type: 'counter', help: 'Events durably stored in Redis.', samples: [{ value: status.events.stored }] },
    { name: 'ux_events_duplicate_total', type: 'counter', help: 'Resent events answered as duplicates.', samples: [{ value: status.events.duplicates }] },
    { name: 'ux_events_refused_total', type: 'counter', help: 'Events refused by the write function (closed, submitted, stale).', samples: [{ value: status.events.refused }] },
    { name: 'ux_events_bad_total', type: 'counter', help: 'Events whose write raised every time, isolated by a writer and nacked bad_event.', samples: [{ value: status.events.badEvents }] },
    { name: 'ux_events_per_second', type: 'gauge', help: 'Stored events per second, recent.', samples: [{ value: status.events.perSecond }] },
    { name: 'ux_acks_sent_total', type: 'counter', help: 'Ack frames sent.', samples: [{ value: status.acks.sent }] },
    { name: 'ux_nacks_sent_total', type: 'counter', help: 'Nack frames sent by writers.', samples: [{ value: status.acks.nacks }] },
    { name: 'ux_ring_fill_ratio', type: 'gauge', help: 'Bytes waiting in event rings over their capacity.', samples: [{ value: status.rings.fill }] },
    ...(status.storage === undefined || status.storage.freeBytes === null
      ? []
      : [
          { name: 'ux_storage_free_bytes', type: 'gauge' as const, help: 'Free bytes on the disk of dataDir (rule S3).', samples: [{ value: status.storage.freeBytes }] },
          { name: 'ux_storage_min_free_bytes', type: 'gauge' as const, help: 'storage.minFreeBytes: below it no new event is acked.', samples: [{ value: status.storage.minFreeBytes }] },
        ]),
    {
      name: 'ux_actor_restarts_total',
      type: 'counter',
      help: 'Restarts per actor.',
      samples: status.actors.map((actor) => ({ labels: { actor: actor.id }, value: actor.restarts })),
    },
    {
      name: 'ux_actor_up',
      type: 'gauge',
      help: '1 when the actor is running.',
      samples: status.actors.map((actor) => ({ labels: { actor: actor.id }, value: actor.status === 'running' ? 1 : 0 })),
    },
    {
      name: 'ux_actor_event_loop_delay_p99_seconds',
      type: 'gauge',
      help: 'How late the actor thread ran its callbacks, p99 over the last 10 s (a loaded thread delays acks).',
      samples: loopSamples(status, (delay) => delay.p99Ms),
    },
    {
      name: 'ux_actor_event_loop_delay_max_seconds',
      type: 'gauge',
      help: 'How late the actor thread ran its callbacks, worst over the last 10 s.',
      samples: loopSamples(status, (delay) => delay.maxMs),
    },
    { name: 'ux_redis_up', type: 'gauge', help: '1 when the root Redis connection is ready.', samples: [{ value: status.redis.status === 'ready' ? 1 : 0 }] },
    { name: 'ux_uptime_seconds', type: 'gauge', help: 'Seconds since start.', samples: [{ value: status.uptimeSeconds }] },
  ];
  return metrics.map(format).join('\n') + '\n';
}
