// The gateway port, shared by every connection actor without any hand-off of sockets: on Node
// with reusePort each actor binds it; on Node 20 each actor gets its own duplicate descriptor.

import { fork, type ChildProcess } from 'node:child_process';
import { UntradexError } from '../src/errors.js';
import { GATEWAY_LISTEN_BACKLOG, type ListenSpec } from '../actors/connection/protocol.js';

/** A raw libuv TCP handle as it arrives over IPC; only its descriptor number is used here. */
export interface RawTcpHandle {
  fd: number;
}

interface BrokerReply {
  op: 'listening' | 'dup' | 'error';
  port?: number;
  code?: string;
  message?: string;
}

/** reusePort arrived in Node 22.12 and 23.1 (libuv's UV_TCP_REUSEPORT). */
export function nodeHasReusePort(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export interface ListenSocket {
  /** The port actually bound (differs from the configured one when that was 0). */
  readonly port: number;
  /** A listen spec for one actor. With descriptors, each call returns a fresh duplicate. */
  specForActor(): Promise<ListenSpec>;
  /**
   * What a gateway process needs to take its share of the port: a raw handle to send over IPC
   * (each send duplicates it into the receiver), or nothing where every process binds with reusePort.
   */
  shareableHandle(): RawTcpHandle | null;
  close(): Promise<void>;
}

export async function openListenSocket(host: string, port: number, options: { forceDescriptors?: boolean } = {}): Promise<ListenSocket> {
  if (nodeHasReusePort() && options.forceDescriptors !== true && port !== 0) {
    return reusePortSocket(host, port);
  }
  return DescriptorListenSocket.open(host, port);
}

function reusePortSocket(host: string, port: number): ListenSocket {
  return { port, specForActor: async () => ({ kind: 'reusePort', host, port }), shareableHandle: () => null, close: async () => {} };
}

/**
 * A gateway process's share of the primary's port: the handle the primary sent (already a
 * duplicate owned by this process), or, with reusePort, the port to bind.
 */
export async function adoptListenSocket(host: string, port: number, handle: RawTcpHandle | undefined): Promise<ListenSocket> {
  if (handle === undefined) return reusePortSocket(host, port);
  return DescriptorListenSocket.adopt(handle, port);
}

class DescriptorListenSocket implements ListenSocket {
  // Every duplicate stays referenced: a raw handle must never be closed or collected here, since
  // its descriptor belongs to an actor (and its number may be reused once that actor is gone).
  private readonly duplicates: RawTcpHandle[] = [];
  private pending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly broker: ChildProcess,
    private readonly anchor: RawTcpHandle,
    readonly port: number,
  ) {}

  static async open(host: string, port: number): Promise<DescriptorListenSocket> {
    const broker = DescriptorListenSocket.forkBroker();
    broker.send({ op: 'listen', host, port, backlog: GATEWAY_LISTEN_BACKLOG });
    const [reply, handle] = await nextReply(broker);
    if (reply.op !== 'listening' || handle === undefined) {
      broker.kill();
      throw new UntradexError(
        'UX_ERR_CONFIG',
        `cannot listen on ${host}:${port} (${reply.code ?? 'unknown'}: ${reply.message ?? ''}); ` +
          'free the port or change gateway.port / gateway.host',
      );
    }
    return new DescriptorListenSocket(broker, handle, reply.port ?? port);
  }

  /** Takes a handle that already listens (sent by the primary); the broker only duplicates it. */
  static adopt(handle: RawTcpHandle, port: number): DescriptorListenSocket {
    return new DescriptorListenSocket(DescriptorListenSocket.forkBroker(), handle, port);
  }

  private static forkBroker(): ChildProcess {
    return fork(new URL('./listen-socket-broker-process.js', import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
      // Its own process group, so a terminal's Ctrl-C does not end it under the draining gateway
      // (rule S1); it exits when our IPC channel closes, with us or when close() asks.
      detached: true,
    });
  }

  shareableHandle(): RawTcpHandle {
    return this.anchor;
  }

  specForActor(): Promise<ListenSpec> {
    // Requests are serialized: replies carry no id, so one at a time keeps them paired.
    const next = this.pending.then(async () => {
      this.broker.send({ op: 'dup' }, this.anchor as never, { keepOpen: true });
      const [reply, handle] = await nextReply(this.broker);
      if (reply.op !== 'dup' || handle === undefined) throw new UntradexError('UX_ERR_ACTOR_CRASHED', 'the listen socket broker did not return a descriptor');
      this.duplicates.push(handle);
      return { kind: 'fd', fd: handle.fd } satisfies ListenSpec;
    });
    this.pending = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    // The broker may be gone already (it dies with its channel): nothing is left to disconnect then.
    if (this.broker.connected) this.broker.disconnect();
    // The anchor is the one duplicate no actor owns: closing it lets the kernel free the port
    // once the actors have closed theirs.
    (this.anchor as unknown as { close?: () => void }).close?.();
  }
}

function nextReply(broker: ChildProcess): Promise<[BrokerReply, RawTcpHandle | undefined]> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: BrokerReply, handle: unknown) => {
      cleanup();
      resolve([message, handle as RawTcpHandle | undefined]);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new UntradexError('UX_ERR_ACTOR_CRASHED', `the listen socket broker exited with code ${code}`));
    };
    const cleanup = () => {
      broker.off('message', onMessage);
      broker.off('exit', onExit);
    };
    broker.on('message', onMessage);
    broker.once('exit', onExit);
  });
}
