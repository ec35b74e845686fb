// Untradex as several gateway processes on one box (gateway.processes > 1): this primary runs
// Redis, the port, the control plane and the exporters; each gateway process a whole actor tree.

import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { UntradexConfig } from '../src/config/schema.js';
import type { ExamLifecycle } from '../src/export/exam-lifecycle.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { ExportSupervisor } from '../supervisors/export-supervisor.js';
import { FleetStatus } from './fleet-status.js';
import { GatewayProcess } from '../supervisors/gateway-process.js';
import { openListenSocket, type ListenSocket } from '../supervisors/listen-socket.js';
import { RootStatus } from './root-status.js';
import { RootSupervisor } from '../supervisors/root-supervisor.js';
import { supervisorFlags } from '../supervisors/restart-intensity.js';
import { Supervisor } from '../supervisors/supervisor.js';
import type { RunningApp, UntradexAppEvents } from './untradex-app.js';

/** What each gateway process runs: a whole actor tree of its own (app/gateway-process-main.ts). */
const GATEWAY_PROCESS_MAIN = new URL('./gateway-process-main.js', import.meta.url);

export class FleetApp extends EventEmitter<UntradexAppEvents> implements RunningApp {
  readonly root: RootSupervisor;
  readonly exporters: ExportSupervisor;
  private listenSocket: ListenSocket | null = null;
  private gatewaySupervisor: Supervisor<GatewayProcess> | null = null;
  private controlPlane: ControlPlane | null = null;
  private stopping: Promise<void> | null = null;

  constructor(
    readonly config: UntradexConfig,
    private readonly log: Logger,
  ) {
    super();
    this.root = new RootSupervisor(config, log, { role: 'primary' });
    this.exporters = new ExportSupervisor(config, this.root.redisTarget);
    this.root.on('fatal', (error) => this.emit('fatal', error));
  }

  get exams(): ExamLifecycle {
    if (this.controlPlane === null) throw new Error('FleetApp.start() has not finished');
    return this.controlPlane.exams;
  }

  get gateways(): Supervisor<GatewayProcess> {
    if (this.gatewaySupervisor === null) throw new Error('FleetApp.start() has not finished');
    return this.gatewaySupervisor;
  }

  get gatewayPort(): number {
    return this.listenSocket?.port ?? this.config.gateway.port;
  }

  get controlPort(): number {
    return this.controlPlane?.server.port ?? this.config.control.port;
  }

  async start(): Promise<void> {
    const { config, log } = this;
    await this.root.start();
    try {
      const listenSocket = await openListenSocket(config.gateway.host, config.gateway.port);
      this.listenSocket = listenSocket;
      const specs = Array.from({ length: config.gateway.processes }, (_, index) => ({
        id: `gateway-process-${index}`,
        restart: 'permanent' as const,
        shutdownMs: 35_000,
        start: (incarnation: number) => GatewayProcess.start(GATEWAY_PROCESS_MAIN, index, incarnation, config, listenSocket, log),
      }));
      this.gatewaySupervisor = new Supervisor<GatewayProcess>('gateway-processes', supervisorFlags('gateway-processes', config.supervision), specs, log);
      this.gatewaySupervisor.on('escalate', (error) => this.emit('fatal', error));
      await this.gatewaySupervisor.start();
      this.controlPlane = await startControlPlane(config, this.root, this.exporters, new FleetStatus(new RootStatus(this.root), this.gatewaySupervisor), log);
      log.info({ gatewayPort: this.gatewayPort, processes: config.gateway.processes }, 'untradex fleet is running');
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Drains every gateway process (each sends its last acks), then the control plane and Redis. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.controlPlane?.stop();
      await Promise.all(this.gatewaySupervisor?.handles().map((process) => process.stop()) ?? []);
      await this.gatewaySupervisor?.stop();
      await this.exporters.stop();
      await this.listenSocket?.close();
      await this.root.shutdown();
    })();
    return this.stopping;
  }
}
