// Redis's own limit for the writes Untradex makes: `redis-benchmark` calling the same ux_write
// function, pipelined, against a private redis-server with the same appendfsync, Redis CPU measured.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadFunctionLibrary } from '../../src/redis/function-library.js';
import { startTestRedis, type TeardownHost } from '../../test/helpers/redis-server.js';
import { readProc } from './proc-stats.js';

const run = promisify(execFile);

export interface RedisBenchmarkOptions {
  appendfsync: 'always' | 'everysec';
  /** FCALLs to make. */
  calls: number;
  clients: number;
  pipeline: number;
  /** Events in each ux_write call (Untradex sends one call per bucket per batch). */
  eventsPerCall: number;
}

export interface RedisBenchmarkResult {
  eventsPerSecond: number;
  callsPerSecond: number;
  /** Redis CPU per stored event, µs. */
  redisCpuPerEventUs: number;
  command: string;
}

/**
 * Every event goes to a fresh random student (`s__rand_int__`, a new number per occurrence), seq 1,
 * so ux_write stores each one: an XADD, an HSET of the answer, an HSET of the student's state, one
 * of its answer index, and (a new student each time) a ZADD to the roster.
 */
export async function redisBenchmarkWrites(t: TeardownHost, options: RedisBenchmarkOptions): Promise<RedisBenchmarkResult> {
  const redis = await startTestRedis(t, { appendfsync: options.appendfsync });
  const client = redis.client('bench');
  await loadFunctionLibrary(client);
  const now = String(Date.now());
  // The same six keys Untradex's writers pass (BucketStore.writeBatch): with fewer, every call fails.
  const args = ['FCALL', 'ux_write', '6', 'ux:{RB:0}:log', 'ux:{RB:0}:ans', 'ux:{RB:0}:seq', 'ux:{RB:0}:closed', 'ux:{RB:0}:qidx', 'ux:{RB:0}:roster', 'RB', String(options.eventsPerCall)];
  for (let i = 0; i < options.eventsPerCall; i++) args.push('s__rand_int__', '1', '1', 'a', `Q${(i % 40) + 1}`, 'B', now, now);
  const cli = ['-h', '127.0.0.1', '-p', String(redis.port), '-n', String(options.calls), '-c', String(options.clients), '-P', String(options.pipeline), '-r', '100000000', '--csv', ...args];
  const before = readProc(redis.server.pid!)!;
  const started = performance.now();
  const { stdout } = await run('redis-benchmark', cli, { maxBuffer: 16 * 1024 * 1024 });
  const seconds = (performance.now() - started) / 1000;
  const after = readProc(redis.server.pid!)!;
  // --csv: a header line, then "<command>","<rps>",...
  const row = stdout.trim().split('\n').find((line) => !line.startsWith('"test"'));
  const rps = Number(/^"[^"]*","([\d.]+)"/.exec(row ?? '')?.[1] ?? Number.NaN);
  const callsPerSecond = Number.isFinite(rps) ? rps : options.calls / seconds;
  const stored = Number(await client.xlen('ux:{RB:0}:log'));
  return {
    eventsPerSecond: callsPerSecond * options.eventsPerCall,
    callsPerSecond,
    redisCpuPerEventUs: stored === 0 ? 0 : ((after.cpuSeconds - before.cpuSeconds) / stored) * 1e6,
    command: `redis-benchmark -n ${options.calls} -c ${options.clients} -P ${options.pipeline} -r 100000000 FCALL ux_write 5 <log> <ans> <seq> <closed> <qidx> RB ${options.eventsPerCall} <${options.eventsPerCall} x 8 fields>`,
  };
}
