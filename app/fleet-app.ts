// Untradex as several gateway processes on one box (gateway.processes > 1): this primary runs
// Redis, the port, the control plane and the exporters; each gateway process a whole actor tree.

import type { Logger } from 'pino';
import type { UntradexConfig } from '../src/config/schema.js';
import { startControlPlane } from './control-plane.js';
import { FleetStatus } from './fleet-status.js';
import { GatewayProcess } from '../supervisors/gateway-process.js';
import { openListenSocket, type ListenSocket } from '../supervisors/listen-socket.js';
import { RootStatus } from './root-status.js';
import { supervisorFlags } from '../supervisors/restart-intensity.js';
import { GATEWAY_PROCESS_SHUTDOWN_MS } from '../src/stop-timeouts.js';
import { Supervisor } from '../supervisors/supervisor.js';
import { RunningAppBase } from './running-app.js';

/** What each gateway process runs: a whole actor tree of its own (app/gateway-process-main.ts). */
const GATEWAY_PROCESS_MAIN = new URL('./gateway-process-main.js', import.meta.url);

export class FleetApp extends RunningAppBase {
  private listenSocket: ListenSocket | null = null;
  private gatewaySupervisor: Supervisor<GatewayProcess> | null = null;

  constructor(config: UntradexConfig, log: Logger) {
    super(config, log, 'primary');
  }

  get gateways(): Supervisor<GatewayProcess> {
    if (this.gatewaySupervisor === null) throw new Error('FleetApp.start() has not finished');
    return this.gatewaySupervisor;
  }

  get gatewayPort(): number {
    return this.listenSocket?.port ?? this.config.gateway.port;
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
        shutdownMs: GATEWAY_PROCESS_SHUTDOWN_MS,
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
