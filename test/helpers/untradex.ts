// Starts a whole Untradex for a test, on free ports with its own dataDir and embedded Redis:
// as a child process exactly like `npm start`, or in-process when a test needs the actor handles.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { MEMORY_REDUCER_OFF } from '../../src/actor-runtime/memory-reducer.js';
import { loadConfig, packageRoot } from '../../src/config/load-config.js';
import type { UntradexConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { UntradexApp } from '../../app/untradex-app.js';
import { mergeOverrides, type Overrides } from './config-overrides.js';
import { descendants, killAll, killOnExit, killTree } from './process-tree.js';
import { freePort } from './free-port.js';
import type { TeardownHost } from './redis-server.js';


export interface ControlClient {
  adminToken: string;
  controlUrl: string;
  /** Calls the control API with the admin token; returns status and parsed JSON. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Mints tokens for the given students through the control API. */
  tokens(exam: string, students: string[]): Promise<Record<string, string>>;
}

export interface RunningUntradex extends ControlClient {
  dataDir: string;
  gatewayUrl: string;
  redisPort: number;
  /** A fresh client on the embedded Redis, closed at teardown. */
  redis(): Redis;
}

async function baseOverrides(dataDir: string): Promise<Overrides> {
  return {
    dataDir,
    gateway: { host: '127.0.0.1', port: await freePort(), rateLimit: { eventsPerSecond: 100_000, burst: 100_000, abuseStrikes: 1000 } },
    control: { port: await freePort() },
    redis: { port: await freePort() },
    log: { level: 'warn' },
  };
}

function controlClient(controlUrl: string, adminToken: string): ControlClient {
  const api = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(controlUrl + path, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T };
  };
  return {
    adminToken,
    controlUrl,
    api,
    async tokens(exam, students) {
      const reply = await api<{ tokens: Record<string, string> }>('POST', `/api/exams/${exam}/tokens`, { students, ttlSeconds: 3600 });
      if (reply.status !== 200) throw new Error(`minting tokens failed: ${reply.status} ${JSON.stringify(reply.body)}`);
      return reply.body.tokens;
    },
  };
}

/** The embedded Redis's password, as the server keeps it in its dataDir. */
export function embeddedRedisPassword(dataDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { redisPassword?: string }).redisPassword;
  } catch {
    return undefined;
  }
}

function redisFactory(t: TeardownHost, port: number, password: () => string | undefined): () => Redis {
  return () => {
    const secret = password();
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 3, ...(secret === undefined ? {} : { password: secret }) });
    // The server may be stopped or killed by the test itself: that is expected, not an error to print.
    client.on('error', () => undefined);
    t.teardown(() => client.disconnect());
    return client;
  };
}

export interface UntradexProcess extends RunningUntradex {
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /**
   * SIGKILL of Untradex and every process it started (its redis-server, broker and gateway
   * processes run in process groups of their own), as a power loss would.
   */
  killGroup(): Promise<void>;
  /** Starts the CLI again on the same config and dataDir. */
  restart(): Promise<void>;
}

/** The CLI as `npm start` runs it, with a config file merged over the defaults. */
/** `options.env`: variables added to the process's environment (OTEL_* in the OTLP test). */
export async function startUntradexProcess(t: TeardownHost, overrides: Overrides = {}, options: { dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<UntradexProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ux-app-')));
  if (options.dataDir === undefined) t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const config = mergeOverrides(await baseOverrides(dataDir), overrides);
  const configPath = join(dataDir, 'test-config.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const cli = join(packageRoot(), 'dist', 'app', 'cli', 'main.js');

  let child!: ChildProcess;
  let output = '';
  const launch = async () => {
    output = '';
    // As `npm start` runs it (package.json), so the benchmarks measure what a school runs.
    child = spawn(process.execPath, [MEMORY_REDUCER_OFF, cli, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...options.env } });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    killOnExit(child);
    await new Promise<void>((resolve, reject) => {
      // 60 s: on a shared 2-core box under several test suites, each actor thread took 5-7 s to start.
      const timer = setTimeout(() => reject(new Error(`untradex did not start in 60 s:\n${output}`)), 60_000);
      const onData = () => {
        if (output.includes('Untradex is running.')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`untradex exited with ${code} while starting:\n${output}`));
      });
    });
  };
  const exited = () => new Promise<number | null>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
  await launch();
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      killTree(child.pid!);
      await exited();
    }
  });

  const gateway = config.gateway as { port: number };
  const redisPort = (config.redis as { port: number }).port;
  const { config: loaded } = loadConfig({ path: configPath });
  return {
    ...controlClient(`http://127.0.0.1:${(config.control as { port: number }).port}`, loaded.control.adminToken),
    child,
    dataDir,
    gatewayUrl: `ws://127.0.0.1:${gateway.port}/ws`,
    redisPort,
    redis: redisFactory(t, redisPort, () => embeddedRedisPassword(dataDir)),
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      return exited();
    },
    async killGroup() {
      // Listed before the group dies: once orphaned, they no longer name the server as parent.
      const family = descendants(child.pid!);
      process.kill(-child.pid!, 'SIGKILL');
      killAll(family);
      await exited();
    },
    async restart() {
      await launch();
    },
  };
}

export interface InProcessUntradex extends RunningUntradex {
  app: UntradexApp;
  config: UntradexConfig;
}

/** Untradex inside the test process: the test reaches actors, rings and supervisors directly. */
export async function startUntradexInProcess(t: TeardownHost, overrides: Overrides = {}): Promise<InProcessUntradex> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ux-app-'));
  const { config } = loadConfig({ overrides: mergeOverrides(await baseOverrides(dataDir), overrides) });
  const app = new UntradexApp(config, createLogger('test', config.log.level));
  let started = false;
  // Registered before the start: a start that is refused (tests of refusals) leaves no dataDir behind.
  t.teardown(async () => {
    if (started) await app.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  await app.start();
  started = true;
  return {
    ...controlClient(`http://127.0.0.1:${app.controlPort}`, config.control.adminToken),
    app,
    config,
    dataDir,
    gatewayUrl: `ws://127.0.0.1:${app.gatewayPort}/ws`,
    redisPort: config.redis.port,
    redis: redisFactory(t, config.redis.port, () => config.redis.embeddedPassword ?? undefined),
  };
}

export const repoRoot = (): string => fileURLToPath(new URL('../../..', import.meta.url));
