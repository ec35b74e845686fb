// One running Untradex in one process: the root supervisor's actor tree, the exam lifecycle with
// its export pool, and the control server in front of them. The CLI and the tests start this.

import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { UntradexConfig } from '../src/config/schema.js';
import type { UntradexError } from '../src/errors.js';
import type { ExamLifecycle } from '../src/export/exam-lifecycle.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { ExportSupervisor } from '../supervisors/export-supervisor.js';
import { RootStatus } from './root-status.js';
import { RootSupervisor } from '../supervisors/root-supervisor.js';

export interface UntradexAppEvents {
  fatal: [error: UntradexError];
}

/** What the CLI needs of any deployment shape (one process, or a primary with gateway processes). */
export interface RunningApp extends EventEmitter<UntradexAppEvents> {
  readonly gatewayPort: number;
  readonly controlPort: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class UntradexApp extends EventEmitter<UntradexAppEvents> implements RunningApp {
  readonly root: RootSupervisor;
  readonly exporters: ExportSupervisor;
  private controlPlane: ControlPlane | null = null;
  private stopping: Promise<void> | null = null;

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
    if (this.controlPlane === null) throw new Error('UntradexApp.start() has not finished');
    return this.controlPlane.exams;
  }

  get controlPort(): number {
    return this.controlPlane?.server.port ?? this.config.control.port;
  }

  get gatewayPort(): number {
    return this.root.gatewayPort;
  }

  async start(): Promise<void> {
    await this.root.start();
    try {
      this.controlPlane = await startControlPlane(this.config, this.root, this.exporters, new RootStatus(this.root), this.log);
    } catch (error) {
      await this.root.shutdown();
      throw error;
    }
  }

  /** Graceful stop: drain the gateway into Redis, let running exports reach a checkpoint, stop all. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.controlPlane?.stop();
      // Exporters reach their checkpoint while the gateway drains; both need Redis, which stops last.
      await this.root.shutdown({ beforeRedisStops: this.exporters.stop() });
    })();
    return this.stopping;
  }
}
