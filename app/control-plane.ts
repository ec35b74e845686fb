// The control plane every deployment shape shares: the exam lifecycle (finalize, export, purge)
// with its export pool, the control API server, and the OpenTelemetry view of the status.

import type { Logger } from 'pino';
import type { UntradexConfig } from '../src/config/schema.js';
import { ControlServer } from '../src/control/control-server.js';
import { ExamLifecycle } from '../src/export/exam-lifecycle.js';
import { ExportFigures } from '../src/export/export-figures.js';
import { cappedExponentialBackoff } from '../src/export/export-job.js';
import { ExamRoster } from '../src/redis/exam-roster.js';
import { createSink, sinkOptionsFromConfig } from '../src/sinks/create-sink.js';
import { SinkReachability } from '../src/sinks/sink-reachability.js';
import { startMetricsPipeline } from '../src/telemetry/metrics-pipeline.js';
import { otlpSettingsFromEnv } from '../src/telemetry/otlp-settings.js';
import { flushTraces, startTracingFromEnv } from '../src/telemetry/tracing.js';
import type { ExportSupervisor } from '../supervisors/export-supervisor.js';
import { RootControlBackend } from './root-control-backend.js';
import type { StatusSource } from './root-status.js';
import type { RootSupervisor } from '../supervisors/root-supervisor.js';
import { bucketsPerExporter } from '../src/export/buckets-per-exporter.js';

export interface ControlPlane {
  exams: ExamLifecycle;
  server: ControlServer;
  stop(): Promise<void>;
}

/** Starts the lifecycle and the control server on a running root (standalone or primary). */
export async function startControlPlane(config: UntradexConfig, root: RootSupervisor, exporters: ExportSupervisor, statusSource: StatusSource, log: Logger): Promise<ControlPlane> {
  // OTLP traces of finalize, when the environment asks for them (once per process).
  startTracingFromEnv();
  const exportFigures = new ExportFigures();
  const exams = new ExamLifecycle(root.redis, root.store, {
    buckets: config.redis.buckets,
    bucketsAtOnce: config.export.exporters * bucketsPerExporter(config.export.sink),
    retainSeconds: config.export.retainSeconds,
    backoff: cappedExponentialBackoff(config.export.retry),
    runner: () => exporters,
    figures: exportFigures,
  }, log);
  const sink = new SinkReachability(config.export.sink, () => createSink(sinkOptionsFromConfig(config.export)));
  const backend = new RootControlBackend(statusSource, exams, new ExamRoster(root.redis, config.redis.buckets), sink, exportFigures);
  const metrics = startMetricsPipeline(() => backend.status(), otlpSettingsFromEnv());
  const server = new ControlServer(
    {
      host: config.control.host,
      port: config.control.port,
      adminToken: config.control.adminToken,
      metricsToken: config.control.metricsToken,
      authSecret: config.auth.secret,
      maxBodyBytes: config.control.maxBodyBytes,
      buckets: config.redis.buckets,
    },
    backend,
    log,
    metrics,
  );
  try {
    await server.listen();
  } catch (error) {
    await metrics.shutdown();
    throw error;
  }
  return {
    exams,
    server,
    async stop() {
      exams.close();
      await server.close();
      await metrics.shutdown();
      await flushTraces();
    },
  };
}
