// Exporter actor (a piscina worker thread): exports one bucket per task, reading it from Redis in
// chunks and writing it through the sink's bulk path in one transaction. Started by finalize.

import { workerData } from 'piscina';
import { SinkError, UntradexError } from '../src/errors.js';
import type { BucketTask, BucketTaskResult } from '../src/export/export-job.js';
import { readAhead } from '../src/export/read-ahead.js';
import { BucketReader } from '../src/redis/bucket-reader.js';
import { logConnectionHealth } from '../src/redis/connection-log.js';
import { createRedisClient, type RedisClient, type RedisTarget } from '../src/redis/redis-client.js';
import { createLogger } from '../src/telemetry/logger.js';
import { createSink, type SinkOptions } from '../src/sinks/create-sink.js';
import type { ResultSink } from '../src/sinks/result-sink.js';

export interface ExporterInit {
  redis: RedisTarget;
  sink: SinkOptions;
  chunkSize: number;
  logLevel: string;
}

interface ExporterState {
  redis: RedisClient;
  sink: ResultSink;
  /** Set once the tables exist; a failed creation is simply tried again by the next task. */
  tablesReady: boolean;
}

let state: ExporterState | null = null;

/** One Redis connection and one sink per exporter thread, made on its first task. */
function exporterState(): ExporterState {
  if (state === null) {
    const init = workerData as ExporterInit;
    const redis = logConnectionHealth(createRedisClient(init.redis, 'untradex:exporter'), 'untradex:exporter', createLogger('exporter', init.logLevel));
    state = { redis, sink: createSink(init.sink), tablesReady: false };
  }
  return state;
}

export default async function exportBucket(task: BucketTask): Promise<BucketTaskResult> {
  const { chunkSize } = workerData as ExporterInit;
  const current = exporterState();
  const { redis, sink } = current;
  let write;
  try {
    if (!current.tablesReady) {
      await sink.ensureTables();
      current.tablesReady = true;
    }
    write = await sink.beginBucket(task.exam, task.bucket);
    const reader = new BucketReader(redis, task.exam, task.bucket, chunkSize);
    // Each next chunk is read from Redis while the sink writes the current one.
    for await (const rows of readAhead(reader.events())) await write.addEvents(rows);
    for await (const rows of readAhead(reader.answers())) await write.addAnswers(rows);
    for await (const rows of readAhead(reader.submissions())) await write.addSubmissions(rows);
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
