// The supervisor's side of one actor on a worker thread: spawns it, waits until it is ready,
// reaches it through a comlink proxy, and turns every unasked exit into a coded crash.

import { MessageChannel, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ActorCrashedError, deserializeError, type UntradexError } from '../src/errors.js';
import type { ActorApi, ActorLifecycleMessage, ActorWorkerData } from '../src/actor-runtime/actor-host.js';
import { releaseApi, wrapApi, type Remote } from '../src/actor-runtime/comlink-port.js';
import type { ChildHandle } from './supervisor-spec.js';

export interface ActorThreadOptions<Init> {
  /** Stable id, e.g. `writer-0`; names the actor in logs and errors. */
  id: string;
  /** The compiled actor module (an `actors/*.js` URL). */
  entry: URL;
  init: Init;
  log: Logger;
  readyTimeoutMs?: number;
  /** How long a graceful stop may take before the thread is terminated. */
  stopTimeoutMs?: number;
}

/**
 * Actors run plain compiled JavaScript: they take no loader hooks from the parent (a test runner's
 * --import hooks cost about a second per thread start), only source maps for readable stacks, and
 * the V8 CPU profiler when Untradex itself runs under it (`node --cpu-prof --cpu-prof-dir=DIR
 * dist/src/cli/main.js`: one profile per thread, written when it stops).
 */
export function actorExecArgv(): string[] {
  return process.execArgv.filter((arg) => arg === '--enable-source-maps' || arg === '--cpu-prof' || arg.startsWith('--cpu-prof-'));
}

export class ActorThread<Api extends ActorApi> implements ChildHandle {
  readonly api: Remote<Api>;
  private stopping = false;
  private crashListener: ((error: UntradexError) => void) | null = null;
  private readonly exited: Promise<number>;

  private constructor(
    readonly id: string,
    private readonly worker: Worker,
    control: MessageChannel['port1'],
    private readonly log: Logger,
    private readonly stopTimeoutMs: number,
  ) {
    this.api = wrapApi<Api>(control);
    this.exited = new Promise((resolve) => worker.once('exit', resolve));
  }

  static async start<Init, Api extends ActorApi>(options: ActorThreadOptions<Init>): Promise<ActorThread<Api>> {
    const channel = new MessageChannel();
    const workerData: ActorWorkerData<Init> = { init: options.init, control: channel.port2 };
    const worker = new Worker(options.entry, { workerData, transferList: [channel.port2], name: options.id, execArgv: actorExecArgv() });
    const actor = new ActorThread<Api>(options.id, worker, channel.port1, options.log, options.stopTimeoutMs ?? 10_000);
    await actor.waitReady(options.readyTimeoutMs ?? 15_000);
    actor.watch();
    return actor;
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  onCrash(listener: (error: UntradexError) => void): void {
    this.crashListener = listener;
  }

  /** Graceful stop through the actor's API, then terminate if it takes too long. */
  async stop(): Promise<void> {
    if (this.stopping) {
      await this.exited;
      return;
    }
    this.stopping = true;
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, this.stopTimeoutMs, 'timeout').unref());
    const graceful = this.api.stop().then(
      () => 'done' as const,
      (error: unknown) => {
        this.log.warn({ actor: this.id, err: error }, 'actor stop failed; terminating it');
        return 'failed' as const;
      },
    );
    const outcome = await Promise.race([graceful, timeout]);
    if (outcome !== 'done') this.log.warn({ actor: this.id, outcome }, 'actor did not stop gracefully; terminating');
    releaseApi(this.api as Remote<unknown>);
    await this.worker.terminate();
  }

  /** For fault tests: end the thread abruptly, as a crash would. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        void this.worker.terminate();
        reject(new ActorCrashedError(this.id, `did not become ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (message: ActorLifecycleMessage) => {
        if (message.type === 'ready') {
          cleanup();
          resolve();
        } else if (message.type === 'failed') {
          cleanup();
          reject(new ActorCrashedError(this.id, `failed to start: ${message.error.message}`, { cause: deserializeError(message.error) }));
        }
      };
      const onError = (error: Error) => {
        cleanup();
        reject(new ActorCrashedError(this.id, `failed to start: ${error.message}`, { cause: error }));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new ActorCrashedError(this.id, `exited with code ${code} while starting`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.worker.off('message', onMessage);
        this.worker.off('error', onError);
        this.worker.off('exit', onExit);
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', onError);
      this.worker.once('exit', onExit);
    });
  }

  private watch(): void {
    let reported = false;
    const report = (error: UntradexError) => {
      if (reported || this.stopping) return;
      reported = true;
      this.crashListener?.(error);
    };
    this.worker.on('error', (error) => report(new ActorCrashedError(this.id, `uncaught ${error.name}: ${error.message}`, { cause: error })));
    // An exit nobody asked for is a crash, whatever its code (process.exit(0) inside a thread included).
    this.worker.on('exit', (code) => report(new ActorCrashedError(this.id, `exited unasked with code ${code}`)));
  }
}
