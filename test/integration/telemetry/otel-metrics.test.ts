// With an OpenTelemetry SDK registered, a running Untradex reports its status through the
// @opentelemetry/api instruments; the figures match /api/status.

import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import t from 'tap';
import { StudentClient } from '../../../src/client/student-client.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

t.test('status figures reach a registered OpenTelemetry SDK', async (t) => {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  t.teardown(async () => {
    metrics.disable();
    await provider.shutdown();
  });
  const ux = await startUntradexInProcess(t, { redis: { buckets: 2 } });
  const { S1: token } = await ux.tokens('OT', ['S1']);
  const client = new StudentClient({ url: ux.gatewayUrl, token: token! });
  t.teardown(() => client.close());
  await client.connect();
  for (let index = 0; index < 5; index += 1) client.answer('Q1', `v${index}`);
  await client.flushed();

  const { resourceMetrics } = await reader.collect();
  const byName = new Map<string, DataPoint<number>[]>();
  for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric.dataPoints as DataPoint<number>[]);
  t.equal(byName.get('ux.events.stored')?.[0]?.value, 5, 'five stored events');
  t.equal(byName.get('ux.connections')?.[0]?.value, 1, 'one open socket');
  t.ok((byName.get('ux.actor.restarts') ?? []).some((point) => point.attributes.actor === 'writer-0'), 'restarts are labelled by actor');
});
