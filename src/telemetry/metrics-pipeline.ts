// The one OpenTelemetry metrics pipeline of a running Untradex: a MeterProvider whose instruments
// (the status, the latency histograms, process and Node runtime metrics) are read by the Prometheus
// exporter behind GET /metrics and, when the OTLP variables are set, by a periodic OTLP exporter.

import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { HostMetrics } from '@opentelemetry/host-metrics';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import type { SystemStatus } from '../control/control-backend.js';
import { exposeStatusAsOtelMetrics, METER_NAME } from './otel-metrics.js';
import type { OtlpSettings } from './otlp-settings.js';
import { untradexResource } from './otel-resource.js';
import { StatusMetricProducer } from './status-metric-producer.js';

export interface MetricsPipeline {
  /** Collects every instrument and renders them in the Prometheus text format (version 0.0.4). */
  prometheusText(): Promise<string>;
  shutdown(): Promise<void>;
}

/**
 * One status read serves every instrument of a collection: the batch callback and the histogram
 * producer run together, and gathering the status calls into every actor thread.
 */
function sharedRead(read: () => Promise<SystemStatus>): () => Promise<SystemStatus> {
  let inFlight: Promise<SystemStatus> | null = null;
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

export function startMetricsPipeline(readStatus: () => Promise<SystemStatus>, otlp: OtlpSettings): MetricsPipeline {
  const read = sharedRead(readStatus);
  const producer = new StatusMetricProducer(read);
  // The exporter is the reader only: GET /metrics is the control server's, on its port and under its
  // auth, with the text format's versioned content type and the API's error replies.
  const prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: [producer] });
  // No scope label on every sample and no target_info: the ux_* series read as they always did.
  const serializer = new PrometheusSerializer(undefined, false, undefined, true, true);
  const readers: IMetricReader[] = [prometheus];
  if (otlp.metrics) {
    readers.push(new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter(),
      exportIntervalMillis: otlp.exportIntervalMs,
      exportTimeoutMillis: otlp.exportTimeoutMs,
      metricProducers: [producer],
    }));
  }
  const provider = new MeterProvider({ resource: untradexResource(), readers });
  const meter = provider.getMeter(METER_NAME);
  const unregister = exposeStatusAsOtelMetrics(read, meter);
  // An application that embeds Untradex and registered its own global SDK gets the status too.
  const unregisterGlobal = exposeStatusAsOtelMetrics(read);
  // Process CPU and memory; the host's own figures are the node exporter's or the collector's job.
  new HostMetrics({ meterProvider: provider, name: 'untradex-process', metricGroups: ['process.cpu', 'process.memory'] }).start();
  // The main thread's event loop, heap and GC (the actor threads report their loop delay in the status).
  // The delay sampler's timer fires once per `monitoringPrecision` ms even on an idle server: a second,
  // not the default 10 ms, which would wake the main thread 100 times a second for a figure of little use.
  const runtime = new RuntimeNodeInstrumentation({ monitoringPrecision: 1000 });
  runtime.setMeterProvider(provider);
  return {
    async prometheusText() {
      const { resourceMetrics, errors } = await prometheus.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'collecting the metrics failed');
      return serializer.serialize(resourceMetrics);
    },
    async shutdown() {
      unregister();
      unregisterGlobal();
      runtime.disable();
      await provider.shutdown();
    },
  };
}
