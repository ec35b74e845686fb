// The export subtree: a piscina pool of `export.exporters` exporter actors, made on the first
// finalize. A crashed exporter fails only its task; the job retries that bucket on a new thread.

import { Piscina } from 'piscina';
import type { UntradexConfig } from '../src/config/schema.js';
import { ActorCrashedError, ShutdownError, UntradexError } from '../src/errors.js';
import type { BucketTask, BucketTaskResult, BucketTaskRunner } from '../src/export/export-job.js';
import type { RedisTarget } from '../src/redis/redis-client.js';
import { sinkOptionsFromConfig } from '../src/sinks/create-sink.js';
import type { ExporterInit } from '../actors/exporter-actor.js';
import { EXPORT_CLOSE_TIMEOUT_MS } from '../src/stop-timeouts.js';
import { bucketsPerExporter } from '../src/export/buckets-per-exporter.js';
import { actorExecArgv } from './actor-thread.js';

export class ExportSupervisor implements BucketTaskRunner {
  private pool: Piscina<BucketTask, BucketTaskResult> | null = null;
  private stopped = false;

  constructor(
    private readonly config: UntradexConfig,
    private readonly redis: RedisTarget,
  ) {}

  run(task: BucketTask): Promise<BucketTaskResult> {
    if (this.stopped) return Promise.reject(new ShutdownError('exporters are stopping; finalize again after the restart to resume'));
    // A thread that died mid-task rejects with piscina's own Error: it reaches the job in the same
    // vocabulary as any other crashed actor.
    return this.ensurePool()
      .run(task)
      .catch((error: unknown) => {
        throw error instanceof UntradexError ? error : new ActorCrashedError('exporter', (error as Error).message, { cause: error });
      });
  }

  /** For fault tests: the exporter threads now alive. */
  get threads(): readonly { terminate(): Promise<number> }[] {
    return (this.pool?.threads ?? []) as readonly { terminate(): Promise<number> }[];
  }

  /**
   * Lets running bucket tasks finish (each is one transaction) before the threads go: terminating a
   * thread inside a native database call (better-sqlite3 waiting on a lock) can abort the process.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
  }

  private ensurePool(): Piscina<BucketTask, BucketTaskResult> {
    if (this.pool === null) {
      const init: ExporterInit = { redis: this.redis, sink: sinkOptionsFromConfig(this.config.export), chunkSize: this.config.export.chunkSize, logLevel: this.config.log.level };
      this.pool = new Piscina<BucketTask, BucketTaskResult>({
        filename: new URL('../actors/exporter-actor.js', import.meta.url).href,
        minThreads: this.config.export.exporters,
        maxThreads: this.config.export.exporters,
        // Buckets side by side in one thread where the sink can hold two transactions at once.
        concurrentTasksPerWorker: bucketsPerExporter(this.config.export.sink),
        // Idle exporters hold database connections and sockets: they must keep their event loops
        // running between tasks, which the default synchronous Atomics.wait would freeze.
        atomics: 'disabled',
        idleTimeout: 60_000,
        // close() waits for running tasks (a bucket's transaction normally takes far less) within
        // the drain time, so a stop still ends within rule S1's bound (src/stop-timeouts.ts).
        closeTimeout: EXPORT_CLOSE_TIMEOUT_MS,
        execArgv: actorExecArgv(),
        workerData: init,
      });
    }
    return this.pool;
  }
}
