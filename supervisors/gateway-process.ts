// The primary's handle on one gateway process: forks it with its share of the port and reaches it
// over comlink on the IPC channel; waiting for ready, stopping and crash reports are ChildLifecycle's.

import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { wrapApiOverIpc, type Remote } from '../src/actor-runtime/comlink-port.js';
import type { UntradexConfig } from '../src/config/schema.js';
import { ChildLifecycle, type LifecycleNote } from '../src/actor-runtime/child-lifecycle.js';
import { memoryReducerArgv } from '../src/actor-runtime/memory-reducer.js';
import { actorExecArgv } from './actor-thread.js';
import { GATEWAY_PROCESS_STOP_MS } from '../src/stop-timeouts.js';
import { isGatewayProcessNote, type GatewayProcessApi, type GatewayProcessInit } from './gateway-process-protocol.js';
import type { ListenSocket } from './listen-socket.js';

const READY_TIMEOUT_MS = 60_000;

export class GatewayProcess extends ChildLifecycle {
  readonly api: Remote<GatewayProcessApi>;
  /** The process exits right after answering its shutdown. */
  protected readonly exitsWhenStopped = true;
  /** A ChildProcess's 'error' is trouble sending on its IPC channel; its exit is what counts. */
  protected readonly errorIsCrash = false;

  private constructor(id: string, private readonly child: ChildProcess, log: Logger) {
    super(id, child, log, { readyTimeoutMs: READY_TIMEOUT_MS, stopTimeoutMs: GATEWAY_PROCESS_STOP_MS });
    this.api = wrapApiOverIpc<GatewayProcessApi>(child);
  }

  /**
   * `entry` is the gateway process's main module: it lives with the app wiring above the
   * supervisors, so the app names it rather than this file reaching up for it.
   */
  static async start(entry: URL, index: number, incarnation: number, config: UntradexConfig, listenSocket: ListenSocket, log: Logger): Promise<GatewayProcess> {
    const id = `gateway-process-${index}`;
    const child = fork(entry, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      // The primary's memory reducer choice, or off: set from inside, V8 leaves the main isolate's on.
      execArgv: [...actorExecArgv(), ...memoryReducerArgv(process.execArgv)],
      // Its own process group: a terminal's Ctrl-C reaches the primary, which drains this process
      // in order (rule S1); if the primary dies, the closed IPC channel tells this one to leave.
      detached: true,
    });
    const gateway = new GatewayProcess(id, child, log);
    const ready = gateway.waitReady();
    const init: GatewayProcessInit = { type: 'init', index, incarnation, config, port: listenSocket.port };
    const handle = listenSocket.shareableHandle();
    // Sending the handle duplicates the descriptor into the child; ours stays open for the next one.
    if (handle === null) child.send(init);
    else child.send(init, handle as never, { keepOpen: true });
    await ready;
    return gateway;
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  /** For fault tests: the process dies as a crash would. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }

  protected readNote(message: unknown): LifecycleNote | null {
    return isGatewayProcessNote(message) ? (message.type === 'ready' ? { type: 'ready' } : { type: 'failed', error: message.error }) : null;
  }

  protected requestStop(): Promise<void> {
    return this.api.shutdown();
  }

  protected force(): void {
    this.child.kill('SIGKILL');
  }
}
