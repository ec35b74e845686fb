// The worker-thread side of every actor: reads its init from workerData, builds the actor,
// serves its control API over comlink, and tells the supervisor it is ready or why it died.

import { parentPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import { serializeError, type SerializedError } from '../errors.js';
import { exposeApi } from './comlink-port.js';
import { withFaultInjection } from './fault-injection.js';

/** Lifecycle messages an actor posts to its supervisor on parentPort (comlink has its own port). */
export type ActorLifecycleMessage = { type: 'ready' } | { type: 'failed'; error: SerializedError };

export interface ActorWorkerData<Init> {
  init: Init;
  control: MessagePort;
}

/** Every actor's control API has at least a graceful stop; the rest is the actor's own. */
export interface ActorApi {
  stop(): Promise<void>;
}

function actorIdOf(init: unknown): string {
  const id = (init as { actorId?: unknown } | null)?.actorId;
  return typeof id === 'string' ? id : `thread-${threadId}`;
}

/**
 * Runs inside the worker: `build` turns the init into the actor's API. A failure during build is
 * reported as `failed` so the supervisor sees a coded start error rather than a bare exit.
 */
export function hostActor<Init, Api extends ActorApi>(build: (init: Init) => Promise<Api>): void {
  const port = parentPort;
  if (port === null) throw new Error('hostActor must run inside a worker thread');
  const data = workerData as ActorWorkerData<Init>;
  build(data.init).then(
    (api) => {
      // Fault tests reach the actor through the same API; without UX_FAULT_INJECTION=1 it is `api` as is.
      exposeApi(withFaultInjection(api, actorIdOf(data.init)), data.control);
      port.postMessage({ type: 'ready' } satisfies ActorLifecycleMessage);
    },
    (error: unknown) => {
      port.postMessage({ type: 'failed', error: serializeError(error) } satisfies ActorLifecycleMessage);
      // Leave with a non-zero code so the supervisor counts it as a crash, after the message is out.
      setImmediate(() => process.exit(1));
    },
  );
}
