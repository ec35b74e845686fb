// The system status as OpenTelemetry instruments (@opentelemetry/api): observable counters and
// gauges whose one batch callback reads the status only when an SDK collects, so it costs nothing
// when nobody listens. Operators register a MeterProvider (OTLP, Prometheus...) to receive them.

import { metrics, type BatchObservableResult, type Meter, type Observable } from '@opentelemetry/api';
import type { SystemStatus } from '../control/control-backend.js';

export const METER_NAME = 'untradex';

/** Registers the instruments on the global meter provider; returns a function that unregisters them. */
export function exposeStatusAsOtelMetrics(readStatus: () => Promise<SystemStatus>, meter: Meter = metrics.getMeter(METER_NAME)): () => void {
  const instruments = {
    connections: meter.createObservableGauge('ux.connections', { description: 'Open student sockets' }),
    blocked: meter.createObservableGauge('ux.connections.blocked', { description: 'Sockets paused because a ring was full' }),
    stored: meter.createObservableCounter('ux.events.stored', { description: 'Events durably stored in Redis' }),
    duplicates: meter.createObservableCounter('ux.events.duplicate', { description: 'Resent events answered as duplicates' }),
    refused: meter.createObservableCounter('ux.events.refused', { description: 'Events refused by the write function' }),
    badEvents: meter.createObservableCounter('ux.events.bad', { description: 'Events whose write raised every time, nacked bad_event' }),
    acks: meter.createObservableCounter('ux.acks.sent', { description: 'Ack frames sent' }),
    ringFill: meter.createObservableGauge('ux.ring.fill', { description: 'Bytes waiting in event rings over their capacity', unit: '1' }),
    restarts: meter.createObservableCounter('ux.actor.restarts', { description: 'Restarts per actor' }),
  };
  const observables: Observable[] = Object.values(instruments);
  const callback = async (result: BatchObservableResult) => {
    const status = await readStatus();
    result.observe(instruments.connections, status.connections.total);
    result.observe(instruments.blocked, status.connections.blocked);
    result.observe(instruments.stored, status.events.stored);
    result.observe(instruments.duplicates, status.events.duplicates);
    result.observe(instruments.refused, status.events.refused);
    result.observe(instruments.badEvents, status.events.badEvents);
    result.observe(instruments.acks, status.acks.sent);
    result.observe(instruments.ringFill, status.rings.fill);
    for (const actor of status.actors) result.observe(instruments.restarts, actor.restarts, { actor: actor.id });
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
