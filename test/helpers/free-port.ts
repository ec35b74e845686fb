// A TCP port that was free a moment ago on 127.0.0.1, for test servers that cannot take port 0.
// Never 6379 (the machine's Redis) nor 6390 (Untradex's default embedded port).

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const RESERVED = new Set([6379, 6390]);
const LOWEST = 10_000;
/**
 * Ports this process already handed out: a helper may ask for several before any listens (the
 * test cluster starts its nodes at once), and a random draw could repeat one that is still free.
 */
const handedOut = new Set<number>();

/**
 * The first port of the kernel's ephemeral range. Ports are drawn below it: a port from the range
 * itself (what listen(0) hands out) can be taken by any outgoing connection's local end between
 * our check and the server's listen, and with tests running in parallel one was (EADDRINUSE).
 */
function ephemeralStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST + 1000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  const high = ephemeralStart();
  for (;;) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
    if (RESERVED.has(port) || handedOut.has(port)) continue;
    handedOut.add(port);
    if (await isFree(port)) return port;
  }
}
