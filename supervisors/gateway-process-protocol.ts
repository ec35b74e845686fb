// The messages between the primary and one gateway process (gateway.processes > 1): the init
// (config and a share of the port), lifecycle notes, and the control API served over comlink.

import type { UntradexConfig } from '../src/config/schema.js';
import type { Readiness, SystemStatus } from '../src/control/control-backend.js';
import type { SerializedError } from '../src/errors.js';

export interface GatewayProcessInit {
  type: 'init';
  index: number;
  incarnation: number;
  config: UntradexConfig;
  /** The port the primary bound (its real number when gateway.port was 0). */
  port: number;
}

/** Lifecycle notes a gateway process sends; they carry no comlink id, so proxies ignore them. */
export type GatewayProcessNote = { uxGateway: true; type: 'ready'; pid: number } | { uxGateway: true; type: 'failed'; error: SerializedError };

export interface GatewayProcessApi {
  status(): Promise<SystemStatus>;
  readiness(): Promise<Readiness>;
  /** Graceful: drain the rings into Redis, send the last acks, close the sockets, then exit. */
  shutdown(): Promise<void>;
}

export function isGatewayProcessNote(message: unknown): message is GatewayProcessNote {
  return typeof message === 'object' && message !== null && (message as { uxGateway?: unknown }).uxGateway === true;
}
