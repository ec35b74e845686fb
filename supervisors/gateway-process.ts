// The primary's handle on one gateway process: forks it with its share of the port, waits until
// it is ready, reaches it over comlink on the IPC channel, and reports any unasked exit as a crash.

import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { wrapApiOverIpc, type Remote } from '../src/actor-runtime/comlink-port.js';
import type { UntradexConfig } from '../src/config/schema.js';
import { ActorCrashedError, deserializeError, type UntradexError } from '../src/errors.js';
import { actorExecArgv } from './actor-thread.js';
import { DRAIN_TIMEOUT_MS } from './root-supervisor.js';
import { isGatewayProcessNote, type GatewayProcessApi, type GatewayProcessInit } from './gateway-process-protocol.js';
import type { ListenSocket } from './listen-socket.js';
import type { ChildHandle } from './supervisor-spec.js';

const READY_TIMEOUT_MS = 60_000;
/** Within rule S1's bound (drain time plus 10 s) with room for the primary's own last steps. */
const STOP_TIMEOUT_MS = DRAIN_TIMEOUT_MS + 5_000;

export class GatewayProcess implements ChildHandle {
  readonly api: Remote<GatewayProcessApi>;
  private stopping = false;
  private crashListener: ((error: UntradexError) => void) | null = null;
  private readonly exited: Promise<void>;

  private constructor(
    readonly id: string,
    private readonly child: ChildProcess,
    private readonly log: Logger,
  ) {
    this.api = wrapApiOverIpc<GatewayProcessApi>(child);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('error', (error) => log.warn({ process: id, err: error.message }, 'gateway process channel error'));
    child.once('exit', (code, signal) => {
      if (!this.stopping) this.crashListener?.(new ActorCrashedError(id, `process exited unasked (code ${code}, signal ${signal})`));
    });
  }

  static async start(index: number, incarnation: number, config: UntradexConfig, listenSocket: ListenSocket, log: Logger): Promise<GatewayProcess> {
    const id = `gateway-process-${index}`;
    const child = fork(new URL('./gateway-process-main.js', import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      execArgv: actorExecArgv(),
      // Its own process group: a terminal's Ctrl-C reaches the primary, which drains this process
      // in order (rule S1); if the primary dies, the closed IPC channel tells this one to leave.
      detached: true,
    });
    const init: GatewayProcessInit = { type: 'init', index, incarnation, config, port: listenSocket.port };
    const handle = listenSocket.shareableHandle();
    // Sending the handle duplicates the descriptor into the child; ours stays open for the next one.
    if (handle === null) child.send(init);
    else child.send(init, handle as never, { keepOpen: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new ActorCrashedError(id, `not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const onMessage = (message: unknown) => {
        if (!isGatewayProcessNote(message)) return;
        if (message.type === 'ready') {
          cleanup();
          resolve();
        } else fail(new ActorCrashedError(id, `failed to start: ${message.error.message}`, { cause: deserializeError(message.error) }));
      };
      const onExit = (code: number | null) => fail(new ActorCrashedError(id, `exited with code ${code} while starting`));
      const fail = (error: ActorCrashedError) => {
        cleanup();
        child.kill('SIGKILL');
        reject(error);
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return new GatewayProcess(id, child, log);
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  onCrash(listener: (error: UntradexError) => void): void {
    this.crashListener = listener;
  }

  /** Graceful drain through the API; killed if it does not finish in time. */
  async stop(): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS, 'timeout').unref());
    const drained = this.api.shutdown().then(
      () => this.exited,
      () => this.exited,
    );
    // The process exits right after answering; its exit alone also counts as done.
    const outcome = await Promise.race([drained.then(() => 'done' as const), this.exited.then(() => 'done' as const), timeout]);
    if (outcome === 'timeout') {
      this.log.warn({ process: this.id }, 'gateway process did not drain in time; killing it');
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  /** For fault tests: the process dies as a crash would. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }
}
