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

/** The part of a child process (or of `process` inside it) that carries IPC messages. */
export interface IpcChannel {
  send?(message: unknown, callback: (error: Error | null) => void): boolean;
  readonly connected?: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

type EndpointListener = (event: { data: unknown }) => void;

/**
 * A process IPC channel as a comlink endpoint (fork it with serialization 'advanced'). Messages that
 * are not comlink's (lifecycle notes, the init) carry no id and comlink's proxies ignore them.
 */
function ipcEndpoint(channel: IpcChannel): ComlinkTypes.Endpoint {
  const wrapped = new Map<unknown, (message: unknown) => void>();
  const endpoint = {
    postMessage(message: unknown) {
      // A process that is gone cannot answer: the call's caller bounds its wait with a timeout.
      // The callback keeps a closed channel from becoming an 'error' event.
      if (channel.connected === false) return;
      channel.send?.(message, () => undefined);
    },
    addEventListener(_type: string, listener: unknown) {
      const handler = (message: unknown) => {
        const event = { data: message };
        if (typeof listener === 'function') (listener as EndpointListener)(event);
        else (listener as { handleEvent: EndpointListener }).handleEvent(event);
      };
      wrapped.set(listener, handler);
      channel.on('message', handler);
    },
    removeEventListener(_type: string, listener: unknown) {
      const handler = wrapped.get(listener);
      if (handler !== undefined) channel.off('message', handler);
      wrapped.delete(listener);
    },
  };
  return endpoint as unknown as ComlinkTypes.Endpoint;
}

/** Serves `api` over this process's IPC channel (inside a gateway process). */
export function exposeApiOverIpc(api: object, channel: IpcChannel): void {
  Comlink.expose(api, ipcEndpoint(channel));
}

/** A typed proxy to the api a child process serves over its IPC channel. */
export function wrapApiOverIpc<T>(channel: IpcChannel): Remote<T> {
  return Comlink.wrap<T>(ipcEndpoint(channel));
}
