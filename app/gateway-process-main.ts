// The entry of one gateway process (gateway.processes > 1): a whole actor tree (rings, writers,
// connection actors) on the primary's Redis and a duplicate of its port. Forked by the primary.

// First: V8's flags are read as the heap runs, so they are set before any other module loads.
import './v8-flags.js';
import { exposeApiOverIpc } from '../src/actor-runtime/comlink-port.js';
import { serializeError } from '../src/errors.js';
import { createLogger } from '../src/telemetry/logger.js';
import type { GatewayProcessApi, GatewayProcessInit, GatewayProcessNote } from '../supervisors/gateway-process-protocol.js';
import { adoptListenSocket, type RawTcpHandle } from '../supervisors/listen-socket.js';
import { RootStatus } from './root-status.js';
import { STOP_DEADLINE_MS } from '../src/stop-timeouts.js';
import { RootSupervisor } from '../supervisors/root-supervisor.js';

function note(message: GatewayProcessNote): void {
  process.send?.(message);
}

process.once('message', (message: GatewayProcessInit, handle: unknown) => {
  const { config, index } = message;
  const log = createLogger(`gateway-${index}`, config.log.level);
  let root: RootSupervisor | null = null;
  const leave = (code: number) => {
    // However the drain goes, this process is gone within rule S1's bound.
    setTimeout(() => process.exit(code === 0 ? 1 : code), STOP_DEADLINE_MS).unref();
    const stopping = root?.shutdown() ?? Promise.resolve();
    stopping.finally(() => process.exit(code));
  };
  // The primary gone means nobody supervises us any more: drain and leave rather than linger.
  process.once('disconnect', () => leave(0));
  (async () => {
    const listenSocket = await adoptListenSocket(config.gateway.host, message.port, handle as RawTcpHandle | undefined);
    root = new RootSupervisor(config, log, { role: 'gateway', listenSocket });
    root.on('fatal', (error) => {
      note({ uxGateway: true, type: 'failed', error: serializeError(error) });
      leave(1);
    });
    await root.start();
    const status = new RootStatus(root);
    const api: GatewayProcessApi = {
      status: () => status.status(),
      readiness: () => status.readiness(),
      async shutdown() {
        await root?.shutdown();
        await listenSocket.close();
        setImmediate(() => process.exit(0));
      },
    };
    exposeApiOverIpc(api, process);
    note({ uxGateway: true, type: 'ready', pid: process.pid });
  })().catch((error: unknown) => {
    log.error({ err: error }, 'gateway process failed to start');
    note({ uxGateway: true, type: 'failed', error: serializeError(error) });
    setImmediate(() => process.exit(1));
  });
});
