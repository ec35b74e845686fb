// The one place that adapts comlink to Node's MessagePorts: every control-plane call between
// threads (status, drain, stop) goes through expose/wrap here, on a port of its own.

import { createRequire } from 'node:module';
import type { MessagePort } from 'node:worker_threads';
import type * as ComlinkTypes from 'comlink';

// comlink ships ESM as .mjs without an exports map; its UMD build loads cleanly from Node's require.
const require = createRequire(import.meta.url);
const Comlink = require('comlink') as typeof ComlinkTypes;
const nodeEndpoint = require('comlink/dist/umd/node-adapter.js') as (port: unknown) => ComlinkTypes.Endpoint;

export type Remote<T> = ComlinkTypes.Remote<T>;

/** Serves `api` on `port` (inside an actor). */
export function exposeApi(api: object, port: MessagePort): void {
  Comlink.expose(api, nodeEndpoint(port));
}

/** A typed proxy whose calls run `api` on the far side of `port` (in a supervisor). */
export function wrapApi<T>(port: MessagePort): Remote<T> {
  return Comlink.wrap<T>(nodeEndpoint(port));
}

/** Detaches a proxy so its port can close. */
export function releaseApi(remote: Remote<unknown>): void {
  remote[Comlink.releaseProxy]();
}
