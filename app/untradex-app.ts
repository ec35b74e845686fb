// One running Untradex in one process: the root supervisor's actor tree, the exam lifecycle with
// its export pool, and the control server in front of them. The CLI and the tests start this.

import type { Logger } from 'pino';
import type { UntradexConfig } from '../src/config/schema.js';
import { startControlPlane } from './control-plane.js';
import { RootStatus } from './root-status.js';
import { RunningAppBase } from './running-app.js';

export class UntradexApp extends RunningAppBase {
  constructor(config: UntradexConfig, log: Logger) {
    super(config, log, 'standalone');
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
