// The supervisor's side of one actor on a worker thread: spawns it and reaches it through a comlink
// proxy; waiting for ready, stopping and crash reports are the shared ChildLifecycle's.

import { MessageChannel, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ActorApi, ActorLifecycleMessage, ActorWorkerData } from '../src/actor-runtime/actor-host.js';
import { releaseApi, wrapApi, type Remote } from '../src/actor-runtime/comlink-port.js';
import { ACTOR_STOP_TIMEOUT_MS } from '../src/stop-timeouts.js';
import { ChildLifecycle, type LifecycleNote } from '../src/actor-runtime/child-lifecycle.js';

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
 * dist/app/cli/main.js`: one profile per thread, written when it stops).
 */
export function actorExecArgv(): string[] {
  return process.execArgv.filter((arg) => arg === '--enable-source-maps' || arg === '--cpu-prof' || arg.startsWith('--cpu-prof-'));
}

export class ActorThread<Api extends ActorApi> extends ChildLifecycle {
  readonly api: Remote<Api>;
  protected readonly exitsWhenStopped = false;
  protected readonly errorIsCrash = true;

  private constructor(id: string, private readonly worker: Worker, control: MessageChannel['port1'], log: Logger, readyTimeoutMs: number, stopTimeoutMs: number) {
    super(id, worker, log, { readyTimeoutMs, stopTimeoutMs });
    this.api = wrapApi<Api>(control);
  }

  static async start<Init, Api extends ActorApi>(options: ActorThreadOptions<Init>): Promise<ActorThread<Api>> {
    const channel = new MessageChannel();
    const workerData: ActorWorkerData<Init> = { init: options.init, control: channel.port2 };
    const worker = new Worker(options.entry, { workerData, transferList: [channel.port2], name: options.id, execArgv: actorExecArgv() });
    const actor = new ActorThread<Api>(options.id, worker, channel.port1, options.log, options.readyTimeoutMs ?? 15_000, options.stopTimeoutMs ?? ACTOR_STOP_TIMEOUT_MS);
    await actor.waitReady();
    return actor;
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  /** For fault tests: end the thread abruptly, as a crash would. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  protected readNote(message: unknown): LifecycleNote | null {
    // Lifecycle messages come on parentPort; comlink has a port of its own.
    const type = (message as Partial<ActorLifecycleMessage> | null)?.type;
    return type === 'ready' || type === 'failed' ? (message as ActorLifecycleMessage) : null;
  }

  protected requestStop(): Promise<void> {
    return this.api.stop();
  }

  protected async force(): Promise<void> {
    releaseApi(this.api as Remote<unknown>);
    await this.worker.terminate();
  }
}
