// Opens N authenticated, idle student sockets against one server at a steady rate and reads what
// holding them costs: server and Redis RSS per socket, and how long each waited for its welcome.

import { readProc, readTree } from './proc-stats.js';
import { withLoad, sleep, KiB, type BenchTest } from './load.js';
import { fmt } from './results.js';
import type { BenchServer } from './servers.js';

export interface Held {
  welcomed: number;
  failed: number;
  serverKiBPerSocket: number;
  redisKiBPerSocket: number;
  welcomeP99Ms: number;
  serverRssMiB: number;
  /** Load generator processes used (each under the 20,000 open-files limit). */
  loadProcesses: number;
}

/** The median of five readings over two seconds, so one GC or allocation burst does not decide it. */
async function steadyRss(server: BenchServer): Promise<{ server: number; redis: number }> {
  const serverReadings: number[] = [];
  const redisReadings: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await sleep(500);
    serverReadings.push(readTree(server.pids.server)?.rssBytes ?? 0);
    redisReadings.push(server.pids.redis === null ? 0 : (readProc(server.pids.redis)?.rssBytes ?? 0));
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[2]!;
  return { server: median(serverReadings), redis: median(redisReadings) };
}

/** `whileHeld` runs with every socket still open, after the RSS readings (to read the server's own status, say). */
export async function holdSockets(
  t: BenchTest,
  server: BenchServer,
  sockets: number,
  connectPerSecond: number,
  options: { timeoutMs?: number; whileHeld?: () => Promise<void> } = {},
): Promise<Held> {
  await sleep(2000);
  const before = await steadyRss(server);
  return withLoad(server, { students: sockets, driver: 'client' }, async (load) => {
    const connected = await load.connect({ mode: 'ramp', windowMs: Math.max(1000, (sockets / connectPerSecond) * 1000), timeoutMs: options.timeoutMs ?? 60_000, sendOpen: false });
    // Let the allocations of the connect phase settle before reading RSS.
    await sleep(2000);
    const after = await steadyRss(server);
    await options.whileHeld?.();
    const per = (delta: number) => (connected.welcomed === 0 ? 0 : delta / connected.welcomed / KiB);
    t.comment(`welcomed ${connected.welcomed}, failed ${connected.failed}; server RSS ${fmt(before.server / 2 ** 20)} -> ${fmt(after.server / 2 ** 20)} MiB`);
    return {
      welcomed: connected.welcomed,
      failed: connected.failed,
      serverKiBPerSocket: per(after.server - before.server),
      redisKiBPerSocket: per(after.redis - before.redis),
      welcomeP99Ms: connected.welcome.p99Ms,
      serverRssMiB: after.server / 2 ** 20,
      loadProcesses: load.pids.length,
    };
  });
}
