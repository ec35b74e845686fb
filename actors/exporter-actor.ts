// Exporter actor (a piscina worker thread): exports one bucket per task, reading it from Redis in
// chunks and writing it through the sink's bulk path in one transaction. Started by finalize.

import type { Redis } from 'ioredis';
import { workerData } from 'piscina';
import { SinkError, UntradexError } from '../src/errors.js';
import type { BucketTask, BucketTaskResult } from '../src/export/export-job.js';
import { BucketReader } from '../src/redis/bucket-reader.js';
import { createRedisClient, type RedisTarget } from '../src/redis/redis-client.js';
import { createSink, type SinkOptions } from '../src/sinks/create-sink.js';
import type { ResultSink } from '../src/sinks/result-sink.js';

export interface ExporterInit {
  redis: RedisTarget;
  sink: SinkOptions;
  chunkSize: number;
}

interface ExporterState {
  redis: Redis;
  sink: ResultSink;
  tablesReady: Promise<void>;
}

let state: ExporterState | null = null;

/** One Redis connection and one sink per exporter thread, made on its first task. */
function exporterState(): ExporterState {
  if (state === null) {
    const init = workerData as ExporterInit;
    const sink = createSink(init.sink);
    state = { redis: createRedisClient(init.redis, 'untradex:exporter'), sink, tablesReady: sink.ensureTables() };
    // A failed table creation is retried on the next task rather than remembered forever.
    state.tablesReady.catch(() => {
      if (state !== null) state.tablesReady = state.sink.ensureTables();
    });
  }
  return state;
}

export default async function exportBucket(task: BucketTask): Promise<BucketTaskResult> {
  const { chunkSize } = workerData as ExporterInit;
  const { redis, sink, tablesReady } = exporterState();
  let write;
  try {
    await tablesReady;
    write = await sink.beginBucket(task.exam, task.bucket);
    const reader = new BucketReader(redis, task.exam, task.bucket, chunkSize);
    for await (const rows of reader.events()) await write.addEvents(rows);
    for await (const rows of reader.answers()) await write.addAnswers(rows);
    for await (const rows of reader.submissions()) await write.addSubmissions(rows);
    const { rows } = await write.commit();
    return { ok: true, rows };
  } catch (error) {
    await write?.rollback().catch(() => undefined);
    if (error instanceof SinkError) return { ok: false, code: error.code, message: error.message, transient: error.transient };
    if (error instanceof UntradexError) return { ok: false, code: error.code, message: error.message, transient: error.code === 'UX_ERR_REDIS_UNAVAILABLE' };
    // Anything else (a Redis connection error mid-read, say) is worth another attempt.
    return { ok: false, code: 'UX_ERR_EXPORT', message: (error as Error).message, transient: true };
  }
}
