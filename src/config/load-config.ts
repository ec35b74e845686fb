// Builds the running configuration: default.json, a user file merged over it, validation
// that names the offending key, then secrets generated once into dataDir and paths resolved.

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { checkTlsConfig } from './gateway-tls.js';
import { readRedisTls } from './redis-tls.js';
import { parseRedisNode } from '../redis/redis-node.js';
import { maxEventRecordLength } from '../ring/event-record.js';
import { minCapacityFor } from '../ring/ring-layout.js';
import { ORACLE_MAX_VALUE_BYTES } from '../sinks/oracle-sql.js';
import { configSchema, type RawConfig, type UntradexConfig } from './schema.js';

/** The repository root, found from this module's location (works from src/ and dist/src/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new ConfigError('(package)', 'cannot find the Untradex package root');
    dir = parent;
  }
  return dir;
}

export function defaultConfigPath(): string {
  return join(packageRoot(), 'config', 'default.json');
}

/** A configuration as JSON: what the files hold and what overrides carry. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else in `over` replaces what `base` had. */
export function mergeConfig(base: Json, over: Json): Json {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, Json> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = key in base ? mergeConfig(base[key] as Json, value) : value;
  }
  return out;
}

function readJsonFile(path: string, what: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(what, `cannot read ${path}: ${(cause as Error).message}`);
  }
  try {
    return JSON.parse(text) as Json;
  } catch (cause) {
    throw new ConfigError(what, `${path} is not valid JSON: ${(cause as Error).message}`);
  }
}

function firstIssueAsError(issues: z.core.$ZodIssue[]): ConfigError {
  const issue = issues[0];
  if (issue === undefined) return new ConfigError('(root)', 'invalid configuration');
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = [path, issue.keys[0]].filter((part) => part !== '' && part !== undefined).join('.');
    return new ConfigError(key, 'unknown key; check its spelling against config/default.json');
  }
  return new ConfigError(path === '' ? '(root)' : path, issue.message);
}

/** Validates a merged configuration object; throws ConfigError naming the first bad key. */
export function validateConfig(candidate: unknown): RawConfig {
  const parsed = configSchema.safeParse(candidate);
  if (!parsed.success) throw firstIssueAsError(parsed.error.issues);
  const config = parsed.data;
  validateRedisTarget(config.redis);
  // A ring takes records of at most half its size (the ring layout and the event record own the
  // sizes): refuse at start a ring that could not take an event with the largest value.
  const minRingBytes = minCapacityFor(maxEventRecordLength(config.gateway.maxValueBytes));
  if (config.gateway.ringBytes < minRingBytes) {
    throw new ConfigError('gateway.ringBytes', `must be at least ${minRingBytes} (twice the largest framed event record for gateway.maxValueBytes=${config.gateway.maxValueBytes})`);
  }
  // Oracle's VALUE column has a byte limit (src/sinks/oracle-sql.ts): refuse at start what the
  // export could not load at the end of the exam.
  if (config.export.sink === 'oracle' && config.gateway.maxValueBytes > ORACLE_MAX_VALUE_BYTES) {
    throw new ConfigError('gateway.maxValueBytes', `must be at most ${ORACLE_MAX_VALUE_BYTES} with export.sink "oracle" (its VALUE column is VARCHAR2(${ORACLE_MAX_VALUE_BYTES} BYTE))`);
  }
  if (config.export.retry.maxDelayMs < config.export.retry.baseDelayMs) {
    throw new ConfigError('export.retry.maxDelayMs', 'must be at least export.retry.baseDelayMs');
  }
  checkTlsConfig(config.gateway.tls);
  return config;
}

/** redis.embedded, redis.url and redis.cluster name exactly one Redis; waitReplicas needs replicas. */
function validateRedisTarget(redis: RawConfig['redis']): void {
  if (redis.cluster !== null) {
    if (redis.embedded) throw new ConfigError('redis.embedded', 'must be false when redis.cluster is set');
    if (redis.url !== null) throw new ConfigError('redis.url', 'must be null when redis.cluster is set (list the nodes in redis.cluster)');
    redis.cluster.forEach((seed, index) => {
      if (parseRedisNode(seed) === null) throw new ConfigError(`redis.cluster.${index}`, `"${seed}" is not host:port (or [v6]:port) with a port from 1 to 65535`);
    });
  } else if (!redis.embedded && redis.url === null) {
    throw new ConfigError('redis.url', 'is required when redis.embedded is false (or set redis.cluster)');
  }
  if (redis.embedded) {
    // The embedded server is Untradex's own, on 127.0.0.1, with a password it generates itself.
    for (const key of ['username', 'password', 'tls'] as const) {
      if (redis[key] !== null) throw new ConfigError(`redis.${key}`, `is for an external Redis or Redis Cluster; set it to null with redis.embedded (the embedded Redis gets a generated password)`);
    }
  }
  if (redis.username !== null && redis.password === null) {
    throw new ConfigError('redis.password', `is required when redis.username is set (the password of ACL user "${redis.username}"; UNTRADEX_REDIS_PASSWORD keeps it out of the file)`);
  }
  if (redis.url !== null) {
    // Two passwords, one in the URL and one beside it, would leave which one is used to ioredis's
    // merge order (the URL's): refuse the pair instead of guessing.
    const credentials = urlCredentials(redis.url);
    if (credentials.password && redis.password !== null) throw new ConfigError('redis.password', 'redis.url carries a password too; keep one of them (redis.password, or UNTRADEX_REDIS_PASSWORD, keeps it out of the URL)');
    if (credentials.username && redis.username !== null) throw new ConfigError('redis.username', 'redis.url carries a user name too; keep one of them');
  }
  if (redis.embedded && redis.waitReplicas > 0) {
    // The embedded server has no replica: WAIT would never be satisfied and no event acked.
    throw new ConfigError('redis.waitReplicas', 'must be 0 with redis.embedded (the embedded Redis has no replicas)');
  }
}

/** Whether a redis:// URL names a user and a password (an unparseable one is left to ioredis). */
function urlCredentials(url: string): { username: boolean; password: boolean } {
  try {
    const parsed = new URL(url);
    return { username: parsed.username !== '', password: parsed.password !== '' };
  } catch {
    return { username: false, password: false };
  }
}

export interface LoadConfigOptions {
  /** A JSON file merged over the defaults (`--config` or UNTRADEX_CONFIG). */
  path?: string | undefined;
  /** An object merged last, over the file (tests and embedding use it). */
  overrides?: Record<string, unknown> | undefined;
  /** Directory relative paths are resolved against; the process's cwd by default. */
  cwd?: string | undefined;
  /** Where secrets from the environment are read (docs/PROTOCOL.md section 6); process.env by default. */
  env?: NodeJS.ProcessEnv | undefined;
}

/** Secrets generated once per dataDir: the ones the config does not set, and the embedded Redis's password. */
interface GeneratedSecrets {
  adminToken: string;
  authSecret: string;
  redisPassword: string;
}

const newSecret = (bytes: number) => randomBytes(bytes).toString('base64url');

/**
 * Secrets are made once per dataDir and kept there so restarts keep tokens valid: written whole
 * to a temporary file and renamed (a crash never leaves half a file), mode 0600; a file that
 * others may read stops the start (its secrets may have been seen: rotate them).
 */
/**
 * The secrets a server keeps in dataDir (secrets.json), without creating anything: an empty object
 * when the file does not exist yet. The command line reads the admin token from here.
 */
export function readStoredSecrets(dataDir: string): Partial<GeneratedSecrets> {
  const file = join(dataDir, 'secrets.json');
  let stored: Partial<GeneratedSecrets> = {};
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new ConfigError(
        'dataDir',
        `${file} can be read by other users (mode 0${mode.toString(8)}): its secrets may have been seen. ` +
          `Run \`chmod 600 ${file}\`, or delete it to generate new secrets (issued student tokens stop working)`,
      );
    }
    const json = readJsonFile(file, 'dataDir');
    if (!isPlainObject(json) || typeof json.adminToken !== 'string' || typeof json.authSecret !== 'string') {
      throw new ConfigError('dataDir', `${file} is damaged; delete it to generate new secrets (issued tokens stop working)`);
    }
    stored = json as Partial<GeneratedSecrets>;
  }
  return stored;
}

function loadOrCreateSecrets(dataDir: string): { secrets: GeneratedSecrets; created: Set<keyof GeneratedSecrets> } {
  const file = join(dataDir, 'secrets.json');
  const stored = readStoredSecrets(dataDir);
  const created = new Set<keyof GeneratedSecrets>();
  const take = (key: keyof GeneratedSecrets, bytes: number): string => {
    const value = stored[key];
    if (typeof value === 'string' && value !== '') return value;
    created.add(key);
    return newSecret(bytes);
  };
  const secrets: GeneratedSecrets = { adminToken: take('adminToken', 24), authSecret: take('authSecret', 32), redisPassword: take('redisPassword', 32) };
  if (created.size > 0) {
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
    renameSync(temporary, file);
  }
  return { secrets, created };
}

/** The secrets of docs/PROTOCOL.md section 6 that may come from the environment, and their keys. */
const ENV_SECRETS = [
  { name: 'UNTRADEX_ADMIN_TOKEN', path: ['control', 'adminToken'] },
  { name: 'UNTRADEX_AUTH_SECRET', path: ['auth', 'secret'] },
  { name: 'UNTRADEX_POSTGRES_URL', path: ['export', 'postgres', 'url'] },
  { name: 'UNTRADEX_ORACLE_PASSWORD', path: ['export', 'oracle', 'password'] },
  { name: 'UNTRADEX_REDIS_PASSWORD', path: ['redis', 'password'] },
] as const;

/**
 * `<NAME>` holds the secret, `<NAME>_FILE` names a file holding it (a systemd credential, a
 * container secret; one trailing newline is dropped). Returns an override object and, per config
 * key, the variable it came from (for error messages: the value itself is never shown).
 */
export function secretsFromEnvironment(env: NodeJS.ProcessEnv): { overrides: Json; sources: Map<string, string> } {
  const overrides: Record<string, Json> = {};
  const sources = new Map<string, string>();
  for (const { name, path } of ENV_SECRETS) {
    const direct = env[name];
    const fromFile = env[`${name}_FILE`];
    if (direct !== undefined && fromFile !== undefined) {
      throw new ConfigError(path.join('.'), `both ${name} and ${name}_FILE are set; set one of them`);
    }
    let value: string | undefined = direct;
    if (fromFile !== undefined) {
      try {
        value = readFileSync(fromFile, 'utf8').replace(/\r?\n$/, '');
      } catch (cause) {
        throw new ConfigError(path.join('.'), `cannot read ${name}_FILE (${fromFile}): ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`);
      }
    }
    if (value === undefined) continue;
    let node = overrides;
    for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, Json>;
    node[path[path.length - 1]!] = value;
    sources.set(path.join('.'), fromFile !== undefined ? `${name}_FILE` : name);
  }
  return { overrides, sources };
}

export interface LoadedConfig {
  config: UntradexConfig;
  /** True when this start generated the admin token (the CLI prints it then, and only then). */
  adminTokenGenerated: boolean;
}

/** dataDir holds the AOF, the results and the secrets: only its owner may enter it. */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
  } catch {
    // Not ours to change (a mount point owned by another user): its owner decides.
  }
}

type RedisTlsFiles = NonNullable<RawConfig['redis']['tls']>;

/** What readConfig gives: the validated keys, dataDir absolute, and redis.tls's files resolved and read. */
export interface ReadConfig {
  raw: RawConfig;
  dataDir: string;
  redisTls: RedisTlsFiles | null;
  tlsMaterial: ReturnType<typeof readRedisTls>;
}

/** redis.tls's files resolved against the cwd like every other path; absent ones become null. */
function resolveTlsPaths(cwd: string, tls: RedisTlsFiles): RedisTlsFiles {
  const file = (path: string | null | undefined) => (path == null ? null : resolve(cwd, path));
  return { caFile: resolve(cwd, tls.caFile), certFile: file(tls.certFile), keyFile: file(tls.keyFile), servername: tls.servername ?? null };
}

/**
 * The validated configuration with dataDir made absolute, and nothing written: no directory made,
 * no secret generated. For the command line's client commands, which must not create a dataDir
 * or a secrets.json that no server uses.
 */
export function readConfig(options: LoadConfigOptions = {}): ReadConfig {
  const cwd = options.cwd ?? process.cwd();
  let merged = readJsonFile(defaultConfigPath(), '(defaults)');
  if (options.path !== undefined) merged = mergeConfig(merged, readJsonFile(resolve(cwd, options.path), '--config'));
  const fromEnv = secretsFromEnvironment(options.env ?? process.env);
  merged = mergeConfig(merged, fromEnv.overrides);
  if (options.overrides !== undefined) merged = mergeConfig(merged, options.overrides as Json);
  let raw: RawConfig;
  try {
    raw = validateConfig(merged);
  } catch (error) {
    const source = error instanceof ConfigError ? fromEnv.sources.get(error.key) : undefined;
    if (source !== undefined) throw new ConfigError((error as ConfigError).key, `(set by ${source}) ${(error as Error).message.replace(/^config key "[^"]*": /, '')}`);
    throw error;
  }
  const redisTls = raw.redis.tls === null ? null : resolveTlsPaths(cwd, raw.redis.tls);
  return { raw, dataDir: isAbsolute(raw.dataDir) ? raw.dataDir : resolve(cwd, raw.dataDir), redisTls, tlsMaterial: readRedisTls(redisTls) };
}

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const { raw, dataDir, redisTls, tlsMaterial } = readConfig(options);
  ensurePrivateDir(dataDir);
  const needsSecrets = raw.control.adminToken === null || raw.auth.secret === null || raw.redis.embedded;
  const generated = needsSecrets ? loadOrCreateSecrets(dataDir) : null;
  const sqlitePath = raw.export.sqlite.path ?? join(dataDir, 'results.sqlite');

  const config: UntradexConfig = {
    ...raw,
    dataDir,
    redis: { ...raw.redis, tls: redisTls, embeddedPassword: raw.redis.embedded ? generated!.secrets.redisPassword : null, tlsMaterial },
    control: { ...raw.control, adminToken: raw.control.adminToken ?? generated!.secrets.adminToken },
    auth: { secret: raw.auth.secret ?? generated!.secrets.authSecret },
    export: { ...raw.export, sqlite: { path: isAbsolute(sqlitePath) ? sqlitePath : resolve(cwd, sqlitePath) } },
  };
  return { config, adminTokenGenerated: raw.control.adminToken === null && generated !== null && generated.created.has('adminToken') };
}
