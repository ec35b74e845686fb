// What the CLI needs of any deployment shape, and the part every shape's main process shares: the
// root supervisor, the exporters over its Redis, and the control plane that start() puts in front.

import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { UntradexConfig } from '../src/config/schema.js';
import type { UntradexError } from '../src/errors.js';
import type { ExamLifecycle } from '../src/export/exam-lifecycle.js';
import type { ControlPlane } from './control-plane.js';
import { ExportSupervisor } from '../supervisors/export-supervisor.js';
import { RootSupervisor, type RootRole } from '../supervisors/root-supervisor.js';

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

export abstract class RunningAppBase extends EventEmitter<UntradexAppEvents> implements RunningApp {
  readonly root: RootSupervisor;
  readonly exporters: ExportSupervisor;
  /** Set by start() once the rest of the shape runs; null before and while starting. */
  protected controlPlane: ControlPlane | null = null;
  protected stopping: Promise<void> | null = null;

  constructor(
    readonly config: UntradexConfig,
    protected readonly log: Logger,
    role: RootRole,
  ) {
    super();
    this.root = new RootSupervisor(config, log, { role });
    this.exporters = new ExportSupervisor(config, this.root.redisTarget);
    // A root that gives up past its restart intensity ends the whole app (the CLI exits non-zero).
    this.root.on('fatal', (error) => this.emit('fatal', error));
  }

  get exams(): ExamLifecycle {
    if (this.controlPlane === null) throw new Error(`${this.constructor.name}.start() has not finished`);
    return this.controlPlane.exams;
  }

  get controlPort(): number {
    return this.controlPlane?.server.port ?? this.config.control.port;
  }

  abstract get gatewayPort(): number;
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
}
