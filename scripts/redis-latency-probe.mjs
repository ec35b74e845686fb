#!/usr/bin/env node
// Watches every local redis-server but the machine's own on 6379 while a benchmark runs: turns on
// Redis's latency monitor and prints, with the time, each new latency spike and each AOF rewrite.
//
//   node scripts/redis-latency-probe.mjs [--threshold-ms 10] [--interval-ms 100] > /tmp/lat.log &
//   npx tap --disable-coverage --timeout=3600 dist/bench/spike.bench.js
//   kill %1
//
// Untradex's embedded Redis asks for the password in its dataDir's secrets.json (found through the
// server's working directory); the benchmarks' other servers ask for none. Linux only (ss, /proc).

import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';

const { values } = parseArgs({ options: { 'threshold-ms': { type: 'string', default: '10' }, 'interval-ms': { type: 'string', default: '100' } } });
const thresholdMs = Number(values['threshold-ms']);
const intervalMs = Number(values['interval-ms']);
const started = Date.now();
const stamp = () => ((Date.now() - started) / 1000).toFixed(1).padStart(7);
/** pid -> what was last seen of that server. */
const watched = new Map();
/** Servers that refused us (a password not found): tried once. */
const refused = new Set();

function listeningServers() {
  const out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  const found = [];
  for (const line of out.split('\n')) {
    const match = line.match(/127\.0\.0\.1:(\d+).*"redis-server",pid=(\d+)/);
    if (match !== null && match[1] !== '6379') found.push({ port: Number(match[1]), pid: Number(match[2]) });
  }
  return found;
}

function embeddedPassword(pid) {
  try {
    const secrets = JSON.parse(readFileSync(join(readlinkSync(`/proc/${pid}/cwd`), '..', 'secrets.json'), 'utf8'));
    return typeof secrets.redisPassword === 'string' ? secrets.redisPassword : undefined;
  } catch {
    return undefined; // not an embedded Untradex Redis: a benchmark's own, with no password
  }
}

async function watch({ port, pid }) {
  const password = embeddedPassword(pid);
  const redis = new Redis({ port, password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined); // a server that exits is dropped at the next poll
  await redis.connect();
  await redis.config('SET', 'latency-monitor-threshold', String(thresholdMs));
  watched.set(pid, { redis, port, rewriting: '0', latest: '' });
  console.log(`${stamp()} redis :${port} pid ${pid} (${password === undefined ? 'no password: a benchmark\'s own' : 'Untradex embedded'}), latency monitor at ${thresholdMs} ms`);
}

async function poll(pid, state) {
  const info = await state.redis.info('persistence');
  const rewriting = info.match(/aof_rewrite_in_progress:(\d)/)?.[1] ?? '0';
  const aofMb = (Number(info.match(/aof_current_size:(\d+)/)?.[1] ?? 0) / 1e6).toFixed(1);
  if (rewriting !== state.rewriting) {
    console.log(`${stamp()} :${state.port} AOF rewrite ${rewriting === '1' ? 'started' : 'ended'}, AOF ${aofMb} MB`);
    state.rewriting = rewriting;
  }
  // LATENCY LATEST: [event, time of the latest spike, its ms, the worst ms since start] per event.
  const latest = await state.redis.call('LATENCY', 'LATEST');
  const text = latest.map(([event, , ms, worst]) => `${event} ${ms} ms (worst ${worst})`).join(', ');
  if (text !== state.latest) {
    console.log(`${stamp()} :${state.port} latency: ${text}; AOF ${aofMb} MB`);
    state.latest = text;
  }
}

for (;;) {
  for (const server of listeningServers()) {
    if (watched.has(server.pid) || refused.has(server.pid)) continue;
    await watch(server).catch((error) => {
      refused.add(server.pid);
      console.log(`${stamp()} :${server.port} not watched: ${error.message}`);
    });
  }
  for (const [pid, state] of watched) {
    await poll(pid, state).catch(() => {
      watched.delete(pid);
      state.redis.disconnect();
    });
  }
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
