// `untradex check`: before the exam, what would fail on the day. The config is valid, Redis answers
// with settings that keep acked answers (durability-check.ts), and the sink accepts a connection and
// the tables can be created: a wrong database URL shows now, not at finalize.

import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { readConfig, readStoredSecrets, type ReadConfig } from '../../../src/config/load-config.js';
import type { RawConfig } from '../../../src/config/schema.js';
import { readDurability, type NodeDurability } from '../../../src/redis/durability-check.js';
import { createRedisClient, describeRedisTarget, disconnectRedisClient, redisTargetFromConfig, waitForRedis, type RedisClient } from '../../../src/redis/redis-client.js';
import { createSink, sinkOptionsFromConfig } from '../../../src/sinks/create-sink.js';

const REDIS_TIMEOUT_MS = 5_000;
const SINK_TIMEOUT_MS = 15_000;
/** The function library needs Redis Functions (7.0). */
const MIN_REDIS_MAJOR = 7;

interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** Runs every check, prints one line each, and resolves with whether all passed. */
export async function runCheck(configPath: string | undefined): Promise<boolean> {
  // A bad config throws here (exit 2, the message names the key): nothing else can be checked.
  const { raw, dataDir, tlsMaterial } = readConfig({ path: configPath ?? process.env.UNTRADEX_CONFIG });
  const results: CheckResult[] = [{ name: 'config', ok: true, detail: `${configPath ?? process.env.UNTRADEX_CONFIG ?? 'config/default.json'} is valid (dataDir ${dataDir})` }];
  print(results[0]!);
  for (const check of [() => checkRedis(raw, dataDir, tlsMaterial), () => checkSink(raw, dataDir)]) {
    const result = await check();
    results.push(result);
    print(result);
  }
  const failed = results.filter((result) => !result.ok).length;
  process.stdout.write(failed === 0 ? 'All checks passed.\n' : `${failed} check(s) failed: fix what the FAIL lines say, then run untradex check again.\n`);
  return failed === 0;
}

function print(result: CheckResult): void {
  process.stdout.write(`${result.ok ? 'ok  ' : 'FAIL'}  ${result.name.padEnd(6)}  ${result.detail}\n`);
}

async function checkRedis(raw: RawConfig, dataDir: string, tlsMaterial: ReadConfig['tlsMaterial']): Promise<CheckResult> {
  if (raw.redis.embedded) return checkEmbeddedRedis(raw, dataDir);
  const target = redisTargetFromConfig({ ...raw.redis, tlsMaterial, embeddedPassword: null });
  const redis = createRedisClient(target, 'untradex:check');
  redis.on('error', () => undefined); // the PING below reports it
  try {
    await waitForRedis(redis, REDIS_TIMEOUT_MS);
    return durabilityResult(await readDurability(redis, raw.redis.appendfsync), describeRedisTarget(target), raw.redis.checkDurability);
  } catch (error) {
    return { name: 'redis', ok: false, detail: `${describeRedisTarget(target)} does not answer (${causeOf(error)}): check redis.url / redis.cluster and that the server runs` };
  } finally {
    await close(redis);
  }
}

/**
 * The embedded Redis runs only while Untradex does. When it runs, its settings are read like an
 * external one's; when not, the check is that a redis-server new enough is installed.
 */
async function checkEmbeddedRedis(raw: RawConfig, dataDir: string): Promise<CheckResult> {
  const password = readStoredSecrets(dataDir).redisPassword;
  const redis = new Redis({ host: '127.0.0.1', port: raw.redis.port, lazyConnect: true, connectTimeout: REDIS_TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, ...(password === undefined ? {} : { password }) });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return durabilityResult(await readDurability(redis, raw.redis.appendfsync), `embedded Redis on 127.0.0.1:${raw.redis.port}`, true);
  } catch {
    // Not running (Untradex is stopped): what `untradex start` will need is the binary.
  } finally {
    await close(redis);
  }
  try {
    const { stdout } = await promisify(execFile)(raw.redis.serverPath, ['--version'], { timeout: REDIS_TIMEOUT_MS });
    const version = /v=(\d+)\.(\d+)\.(\d+)/.exec(stdout);
    if (version === null || Number(version[1]) < MIN_REDIS_MAJOR) {
      return { name: 'redis', ok: false, detail: `${raw.redis.serverPath} is ${version?.[0] ?? 'of an unknown version'}; Untradex needs redis-server ${MIN_REDIS_MAJOR} or newer` };
    }
    return { name: 'redis', ok: true, detail: `embedded: ${raw.redis.serverPath} ${version[0].slice(2)} is installed; untradex start runs it with appendonly yes, appendfsync ${raw.redis.appendfsync}` };
  } catch (error) {
    return { name: 'redis', ok: false, detail: `${raw.redis.serverPath} cannot be run (${causeOf(error)}): install redis-server ${MIN_REDIS_MAJOR}+ (apt-get install redis-server) or set redis.serverPath` };
  }
}

function durabilityResult(report: NodeDurability[], where: string, enforced: boolean): CheckResult {
  const problems = report.flatMap((node) => (node.problem === null ? [] : [node.problem]));
  if (problems.length === 0) {
    const settings = report.map((node) => `${node.node} appendonly ${node.appendonly}, appendfsync ${node.appendfsync}, maxmemory-policy ${node.maxmemoryPolicy}`).join('; ');
    return { name: 'redis', ok: true, detail: `${where} answers: ${settings}` };
  }
  if (!enforced) return { name: 'redis', ok: true, detail: `${where} answers; redis.checkDurability is off, so these are not enforced: ${problems.join('; ')}` };
  return { name: 'redis', ok: false, detail: problems.join('; ') };
}

async function checkSink(raw: RawConfig, dataDir: string): Promise<CheckResult> {
  const sqlitePath = raw.export.sqlite.path ?? join(dataDir, 'results.sqlite');
  const options = sinkOptionsFromConfig({ ...raw.export, sqlite: { path: resolve(sqlitePath) } });
  const where = options.kind === 'sqlite' ? `sqlite ${String(options.path)}` : options.kind;
  let timer: NodeJS.Timeout | undefined;
  try {
    const sink = createSink(options);
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${SINK_TIMEOUT_MS / 1000} s`)), SINK_TIMEOUT_MS);
      });
      // Creating the tables (if missing) proves the connection, the credentials and the rights the export needs.
      await Promise.race([sink.ensureTables(), timeout]);
    } finally {
      clearTimeout(timer);
      await sink.close();
    }
    return { name: 'sink', ok: true, detail: `${where} accepts a connection, and the ${raw.export.tablePrefix}answers, ${raw.export.tablePrefix}events and ${raw.export.tablePrefix}submissions tables exist` };
  } catch (error) {
    return { name: 'sink', ok: false, detail: `${where}: ${causeOf(error)}; ${sinkHint(raw.export.sink)}` };
  }
}

function sinkHint(kind: RawConfig['export']['sink']): string {
  switch (kind) {
    case 'postgres':
      return 'check export.postgres.url (or UNTRADEX_POSTGRES_URL): host, port, database, user and password, and that the user may create tables';
    case 'oracle':
      return 'check export.oracle.user, .connectString and the password (export.oracle.password or UNTRADEX_ORACLE_PASSWORD), and that the user may create tables';
    case 'sqlite':
      return 'check export.sqlite.path (its directory must be writable)';
  }
}

function causeOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Closes for good; on a Cluster client also its slot refresh timer, or the command would never exit. */
async function close(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => undefined);
  disconnectRedisClient(redis);
}
