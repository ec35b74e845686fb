// Exporter actor (a piscina worker thread): exports one bucket per task, reading it from Redis in
// chunks and writing it through the sink's bulk path in one transaction. Started by finalize.

import { SpanStatusCode } from '@opentelemetry/api';
import { workerData } from 'piscina';
import type { Logger } from 'pino';
import { armPlannedFaults, faults } from '../src/actor-runtime/fault-injection.js';
import { ExportError, serializeError, SinkKeyConflictError, UntradexError } from '../src/errors.js';
import type { BucketTask, BucketTaskResult } from '../src/export/export-job.js';
import { readAhead } from '../src/export/read-ahead.js';
import { withinReadDeadline } from '../src/export/read-deadline.js';
import { shardOfKey } from '../src/export/shard-wait.js';
import { bucketKeys } from '../src/redis/bucket-keys.js';
import { BucketReader } from '../src/redis/bucket-reader.js';
import { logConnectionHealth } from '../src/redis/connection-log.js';
import { createRedisClient, type RedisClient, type RedisTarget } from '../src/redis/redis-client.js';
import { createLogger } from '../src/telemetry/logger.js';
import { BUCKET_SPAN, contextFromCarrier, flushTraces, startTracingFromEnv, tracer } from '../src/telemetry/tracing.js';
import { createSink, type SinkOptions } from '../src/sinks/create-sink.js';
import type { ResultSink } from '../src/sinks/result-sink.js';

/**
 * How long one chunk read from Redis may take before the bucket counts as waiting for its shard (and
 * is tried again later). A healthy read of a chunk takes milliseconds; a Cluster shard that is down
 * would hold it for the client's minutes of redirection retries.
 */
const READ_WAIT_MS = 5_000;

export interface ExporterInit {
  redis: RedisTarget;
  sink: SinkOptions;
  chunkSize: number;
  logLevel: string;
}

interface ExporterState {
  redis: RedisClient;
  log: Logger;
  sink: ResultSink;
  /** Set once the tables exist; a failed creation is simply tried again by the next task. */
  tablesReady: boolean;
}

let state: ExporterState | null = null;
/** OTLP traces, when the environment asks for them: this thread sends its own bucket spans. */
const tracing = startTracingFromEnv();

/** One Redis connection and one sink per exporter thread, made on its first task. */
function exporterState(): ExporterState {
  if (state === null) {
    const init = workerData as ExporterInit;
    armPlannedFaults('exporter');
    const log = createLogger('exporter', init.logLevel);
    const redis = logConnectionHealth(createRedisClient(init.redis, 'untradex:exporter'), 'untradex:exporter', log);
    state = { redis, log, sink: createSink(init.sink), tablesReady: false };
  }
  return state;
}

export default async function exportBucket(task: BucketTask): Promise<BucketTaskResult> {
  if (!tracing) return exportBucketUntraced(task);
  const span = tracer().startSpan(BUCKET_SPAN, { attributes: { 'ux.exam': task.exam, 'ux.bucket': task.bucket } }, contextFromCarrier(task.trace));
  try {
    const result = await exportBucketUntraced(task);
    if (result.ok) {
      span.setAttributes({ 'ux.rows': result.rows, 'ux.load': result.load ?? 'insert' });
    } else {
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${result.error.code}: ${result.error.message}` });
    }
    return result;
  } finally {
    span.end();
    // Sent now rather than after the batch delay (piscina may end an idle thread), but not waited
    // for: a collector that is slow or down must never slow the export.
    flushTraces().catch((error: unknown) => state?.log.warn({ err: error }, 'sending the bucket spans over OTLP failed'));
  }
}

async function exportBucketUntraced(task: BucketTask): Promise<BucketTaskResult> {
  const { chunkSize } = workerData as ExporterInit;
  const current = exporterState();
  try {
    if (!current.tablesReady) {
      await current.sink.ensureTables();
      current.tablesReady = true;
    }
    let rows: number;
    let load: 'insert' | 'upsert' = 'insert';
    try {
      // Most buckets are exported once: straight into the final tables, as fast as the database loads.
      rows = await loadBucket(current, task, chunkSize, load);
    } catch (error) {
      if (!(error instanceof SinkKeyConflictError)) throw error;
      // A committed earlier attempt (its done mark lost to a crash, or a second exporter): merge by key.
      current.log.info({ exam: task.exam, bucket: task.bucket }, 'bucket already in the database; loading it again with upsert');
      load = 'upsert';
      rows = await loadBucket(current, task, chunkSize, load);
    }
    if (faults.armed) await faults.reach('exporter.afterCommit');
    return { ok: true, rows, load };
  } catch (error) {
    // Sent with its class and fields (a SinkError's `transient`), rebuilt by the job on the main thread.
    if (error instanceof UntradexError) return { ok: false, error: serializeError(error) };
    // Anything else (a Redis connection error mid-read, say) is worth another attempt.
    return { ok: false, error: serializeError(new ExportError((error as Error).message, { cause: error, transient: true })) };
  }
}

/** Reads one bucket from Redis and writes it in one transaction; a failure rolls it back and rethrows. */
async function loadBucket({ redis, sink }: ExporterState, task: BucketTask, chunkSize: number, load: 'insert' | 'upsert'): Promise<number> {
  const write = await sink.beginBucket(task.exam, task.bucket, { load });
  try {
    const reader = new BucketReader(redis, task.exam, task.bucket, chunkSize);
    const what = () => `bucket ${task.bucket} of exam ${task.exam} from Redis shard ${shardOfKey(redis, bucketKeys.log(task.exam, task.bucket))}`;
    // Each next chunk is read from Redis while the sink writes the current one, and within a deadline.
    const read = <T>(source: AsyncIterable<T>) => withinReadDeadline(readAhead(source), READ_WAIT_MS, what);
    for await (const rows of read(reader.events())) await write.addEvents(rows);
    for await (const rows of read(reader.answers())) await write.addAnswers(rows);
    for await (const rows of read(reader.submissions())) await write.addSubmissions(rows);
    const { rows } = await write.commit();
    return rows;
  } catch (error) {
    await write.rollback().catch(() => undefined);
    throw error;
  }
}
