// One running Untradex: the root supervisor's actor tree, the exam lifecycle with its export
// pool, and the control server in front of them. The CLI and the end-to-end tests start this.

import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { UntradexConfig } from '../src/config/schema.js';
import { ControlServer } from '../src/control/control-server.js';
import type { RestartIntensityError } from '../src/errors.js';
import { ExamLifecycle } from '../src/export/exam-lifecycle.js';
import { cappedExponentialBackoff } from '../src/export/export-job.js';
import { exposeStatusAsOtelMetrics } from '../src/telemetry/otel-metrics.js';
import { ExportSupervisor } from './export-supervisor.js';
import { RootControlBackend } from './root-control-backend.js';
import { RootSupervisor } from './root-supervisor.js';

export interface UntradexAppEvents {
  fatal: [error: RestartIntensityError];
}

export class UntradexApp extends EventEmitter<UntradexAppEvents> {
  readonly root: RootSupervisor;
  readonly exporters: ExportSupervisor;
  private controlServer: ControlServer | null = null;
  private examLifecycle: ExamLifecycle | null = null;
  private stopping: Promise<void> | null = null;
  private unregisterMetrics: (() => void) | null = null;

  constructor(
    readonly config: UntradexConfig,
    private readonly log: Logger,
  ) {
    super();
    this.root = new RootSupervisor(config, log);
    this.exporters = new ExportSupervisor(config, this.root.redisTarget);
    this.root.on('fatal', (error) => this.emit('fatal', error));
  }

  get exams(): ExamLifecycle {
    if (this.examLifecycle === null) throw new Error('UntradexApp.start() has not finished');
    return this.examLifecycle;
  }

  get controlPort(): number {
    return this.controlServer?.port ?? this.config.control.port;
  }

  get gatewayPort(): number {
    return this.root.gatewayPort;
  }

  async start(): Promise<void> {
    await this.root.start();
    const { config } = this;
    this.examLifecycle = new ExamLifecycle(this.root.redis, this.root.store, {
      buckets: config.redis.buckets,
      exporters: config.export.exporters,
      retainSeconds: config.export.retainSeconds,
      backoff: cappedExponentialBackoff(config.export.retry),
      runner: () => this.exporters,
    }, this.log);
    const backend = new RootControlBackend(this.root, this.examLifecycle);
    this.unregisterMetrics = exposeStatusAsOtelMetrics(() => backend.status());
    this.controlServer = new ControlServer(
      {
        host: config.control.host,
        port: config.control.port,
        adminToken: config.control.adminToken,
        metricsToken: config.control.metricsToken,
        authSecret: config.auth.secret,
        maxBodyBytes: config.control.maxBodyBytes,
      },
      backend,
      this.log,
    );
    try {
      await this.controlServer.listen();
    } catch (error) {
      await this.root.shutdown();
      throw error;
    }
  }

  /** Graceful stop: drain the gateway into Redis, let running exports reach a checkpoint, stop all. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.unregisterMetrics?.();
      // Exporters first: they read from Redis, which the root stops last.
      await this.exporters.stop();
      await this.root.shutdown();
      await this.controlServer?.close();
    })();
    return this.stopping;
  }
}
