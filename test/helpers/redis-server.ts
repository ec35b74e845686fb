// Starts a private redis-server for one test (never the machine's Redis), with its own temp
// dataDir, on a free port; everything it made is stopped and removed at the test's teardown.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { UntradexError } from '../../src/errors.js';
import { EmbeddedRedis } from '../../src/redis/embedded-redis.js';
import { createRedisClient } from '../../src/redis/redis-client.js';
import { freePort } from './free-port.js';

/** The part of a tap Test this helper needs (the root `t` and subtests both fit). */
export interface TeardownHost {
  teardown(fn: () => unknown): void;
}

export interface TestRedisOptions {
  /** Default `everysec`: most tests need a Redis, not fsync; durability tests ask for `always`. */
  appendfsync?: 'always' | 'everysec';
  /** Reuse a dataDir (e.g. to restart on another's AOF); the caller then owns and removes it. */
  dataDir?: string;
}

export interface TestRedis {
  port: number;
  url: string;
  server: EmbeddedRedis;
  /** A new client (name `test`), quit at teardown. */
  client(name?: string): Redis;
  /** stop() then start() on the same port and dataDir. */
  restart(): Promise<void>;
}

const START_ATTEMPTS = 3;

export async function startTestRedis(t: TeardownHost, opts: TestRedisOptions = {}): Promise<TestRedis> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'ux-redis-')));
  const clients: Redis[] = [];
  let server: EmbeddedRedis | undefined;

  t.teardown(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
  });

  // Another process may take the free port before redis-server binds it: try a fresh one.
  for (let attempt = 1; ; attempt++) {
    const candidate = new EmbeddedRedis({
      serverPath: 'redis-server',
      port: await freePort(),
      dataDir,
      appendfsync: opts.appendfsync ?? 'everysec',
      startTimeoutMs: 15_000,
    });
    try {
      await candidate.start();
      server = candidate;
      break;
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !(error instanceof UntradexError) || error.code !== 'UX_ERR_REDIS_START') throw error;
    }
  }
  const started = server;
  return {
    port: started.port,
    url: started.url,
    server: started,
    client(name = 'test') {
      const c = createRedisClient({ host: '127.0.0.1', port: started.port }, name);
      c.on('error', () => undefined); // reconnects are expected in restart tests; assertions see failures
      clients.push(c);
      return c;
    },
    async restart() {
      await started.stop();
      await started.start();
    },
  };
}
