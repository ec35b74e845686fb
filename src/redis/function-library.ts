// The `untradex` Redis Function library: session claims, the batched event write, the exam close.
// Loaded with FUNCTION LOAD REPLACE at start by every process (on every primary of a Cluster);
// ux_version tells a stale library apart.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { packageRoot } from '../config/load-config.js';
import { RedisScriptError, RedisUnavailableError } from '../errors.js';
import { isCluster, type RedisClient } from './redis-client.js';

/** The library's Lua, with its stored formats described at the top: one file, valid Lua, that editors and luacheck read. */
export const LIBRARY_PATH = join(packageRoot(), 'src', 'redis', 'untradex.lua');

export const LIBRARY_SOURCE: string = readFileSync(LIBRARY_PATH, 'utf8');

/** The library's `local VERSION`: ux_version returns it, and a loaded library must report it. */
export const LIBRARY_VERSION: number = versionOf(LIBRARY_SOURCE);

function versionOf(source: string): number {
  const match = /^local VERSION = (\d+)$/m.exec(source);
  if (match === null) throw new RedisScriptError(`${LIBRARY_PATH} has no line "local VERSION = <n>"`);
  return Number(match[1]);
}


/**
 * Loads (or replaces) the library and checks that the server now runs this version. Safe to
 * call from every process at start: REPLACE makes it idempotent. On a Cluster it goes to every
 * primary (FUNCTION LOAD has no key, so routing would pick one node at random); Redis 7 then
 * replicates the library to each primary's replicas, and a full resync carries it in the RDB.
 */
export async function loadFunctionLibrary(redis: RedisClient): Promise<void> {
  if (!isCluster(redis)) {
    await loadOnNode(redis);
    return;
  }
  const primaries = redis.nodes('master');
  if (primaries.length === 0) throw new RedisUnavailableError('the Redis Cluster client knows no primary yet; wait for it to be ready first');
  await Promise.all(primaries.map((node) => loadOnNode(node)));
}

/** Loads the library on one server (a single Redis, or one Cluster primary). */
export async function loadOnNode(node: Redis): Promise<void> {
  try {
    await node.function('LOAD', 'REPLACE', LIBRARY_SOURCE);
  } catch (error) {
    throw new RedisScriptError(`FUNCTION LOAD of the untradex library failed on ${nodeName(node)} (Redis 7 or newer is required)`, {
      cause: error,
    });
  }
  const running = await fetchLibraryVersion(node);
  if (running !== LIBRARY_VERSION) {
    throw new RedisScriptError(
      `the untradex function library on ${nodeName(node)} reports version ${String(running)} after loading version ${LIBRARY_VERSION}; ` +
        'another Untradex build is replacing it: run one version against a Redis at a time',
    );
  }
}

/**
 * The version of the library the server runs now, or null when none is loaded. Given a Cluster
 * client it asks one node (ux_version has no key): pass a node from `nodes()` to ask a given one.
 */
export async function fetchLibraryVersion(redis: RedisClient): Promise<number | null> {
  try {
    const reply = await redis.fcall_ro('ux_version', 0);
    return typeof reply === 'number' ? reply : Number.NaN;
  } catch (error) {
    if (error instanceof Error && /function not found/i.test(error.message)) return null;
    throw new RedisScriptError('FCALL ux_version failed', { cause: error });
  }
}

function nodeName(node: Redis): string {
  return `${node.options.host ?? '?'}:${node.options.port ?? '?'}`;
}
