// The servers a benchmark measures, each in its own process: Untradex as `npm start` runs it
// (test/helpers/untradex.ts), and the naive baseline beside its own redis-server.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mergeOverrides, type Overrides } from '../../test/helpers/config-overrides.js';
import { freePort } from '../../test/helpers/free-port.js';
import { startTestRedis, type TeardownHost, type TestRedis } from '../../test/helpers/redis-server.js';
import { startUntradexProcess, type UntradexProcess } from '../../test/helpers/untradex.js';
import type { HistogramSnapshot } from '../../src/telemetry/latency-histogram.js';
import { aofBytes } from './aof-size.js';
import { findChildren, type ServerPids } from './proc-stats.js';

export interface BenchServer {
  /** ws://.../ws */
  url: string;
  secret: string;
  pids: ServerPids;
  /** Untradex only: the worst event-loop delay of its actors right now, from /api/status. */
  loopDelay?: () => Promise<ActorLoopDelay>;
  /** Untradex only: the size of its embedded Redis's AOF now, bytes. */
  aofBytes?: () => number;
  /** Untradex only: `connected` summed over every exam of GET /api/exams. */
  connectedStudents?: () => Promise<number>;
  /** Untradex only: its own receive-to-ack histogram since start (`latency.ack` of /api/status). */
  ackLatency?: () => Promise<HistogramSnapshot>;
  /** Untradex only: its own histograms of the stages before a welcome, since start (`latency` of /api/status). */
  connectLatency?: () => Promise<ConnectLatency>;
}

/** Accepted to 101 written (upgrade), 101 to hello read (helloWait), hello read to welcome written (welcome). */
export interface ConnectLatency {
  upgrade: HistogramSnapshot;
  helloWait: HistogramSnapshot;
  welcome: HistogramSnapshot;
}

/** Worst p99 and max over the last 10 s window, by actor kind, ms. */
export interface ActorLoopDelay {
  connections: { p99Ms: number; maxMs: number };
  writers: { p99Ms: number; maxMs: number };
}

type StatusActors = { actors: Array<{ id: string; eventLoop?: { p99Ms: number; maxMs: number } }> };

async function readLoopDelay(ux: UntradexProcess): Promise<ActorLoopDelay> {
  const { body } = await ux.api<StatusActors>('GET', '/api/status');
  const worst = { connections: { p99Ms: 0, maxMs: 0 }, writers: { p99Ms: 0, maxMs: 0 } };
  for (const actor of body.actors) {
    if (actor.eventLoop === undefined) continue;
    const kind = /(^|\/)writer-/.test(actor.id) ? worst.writers : worst.connections;
    kind.p99Ms = Math.max(kind.p99Ms, actor.eventLoop.p99Ms);
    kind.maxMs = Math.max(kind.maxMs, actor.eventLoop.maxMs);
  }
  return worst;
}

export interface BenchUntradex extends BenchServer {
  ux: UntradexProcess;
}

/**
 * UX_BENCH_CONFIG names a JSON file merged over the benchmark's settings, to measure another
 * tuning (config/examples/*.json) with the same scenarios.
 */
function benchConfigOverrides(): Overrides {
  const path = process.env['UX_BENCH_CONFIG'];
  if (path === undefined || path === '') return {};
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Overrides;
  // The benchmark owns where things listen and live.
  delete parsed['dataDir'];
  return parsed;
}

/** Untradex's CLI with config/default.json, then UX_BENCH_CONFIG, then the scenario's overrides. */
export async function startBenchUntradex(t: TeardownHost, overrides: Overrides = {}): Promise<BenchUntradex> {
  const secret = randomBytes(24).toString('base64url');
  const fromEnv = benchConfigOverrides();
  const config = mergeOverrides(mergeOverrides({ auth: { secret }, log: { level: 'warn' } }, fromEnv), overrides);
  // Ports chosen by the helper win over a port in UX_BENCH_CONFIG.
  for (const section of ['gateway', 'control', 'redis'] as const) {
    const part = config[section] as Overrides | undefined;
    if (part !== undefined) delete part['port'];
  }
  const ux = await startUntradexProcess(t, config);
  const redis = findChildren(ux.child.pid!, 'redis-server')[0] ?? null;
  return {
    ux,
    url: ux.gatewayUrl,
    secret,
    pids: { server: ux.child.pid!, redis },
    loopDelay: () => readLoopDelay(ux),
    aofBytes: () => aofBytes(ux.dataDir),
    ackLatency: async () => (await ux.api<{ latency: { ack: HistogramSnapshot } }>('GET', '/api/status')).body.latency.ack,
    connectLatency: async () => (await ux.api<{ latency: ConnectLatency }>('GET', '/api/status')).body.latency,
    connectedStudents: async () => (await ux.api<{ exams: Array<{ connected: number }> }>('GET', '/api/exams')).body.exams.reduce((n, exam) => n + exam.connected, 0),
  };
}

export interface BenchNaive extends BenchServer {
  redis: TestRedis;
}

/**
 * The naive baseline server with its own redis-server (same appendfsync as the Untradex run it is
 * compared with). `storeEvents: false` runs it as the floor: acks without storing (NaiveServerOptions).
 */
export async function startBenchNaive(t: TeardownHost, appendfsync: 'always' | 'everysec', buckets = 64, options: { storeEvents?: boolean } = {}): Promise<BenchNaive> {
  const redis = await startTestRedis(t, { appendfsync });
  const secret = randomBytes(24).toString('base64url');
  const port = await freePort();
  const script = fileURLToPath(new URL('../baselines/naive-server-main.js', import.meta.url));
  const child = spawn(process.execPath, [script, JSON.stringify({ host: '127.0.0.1', port, redisPort: redis.port, secret, buckets, ...options })], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`naive server did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('naive server listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`naive server exited with ${code}:\n${output}`)));
  });
  return { url: `ws://127.0.0.1:${port}/ws`, secret, redis, pids: { server: child.pid!, redis: redis.server.pid ?? null } };
}
