// A TCP port that was free a moment ago on 127.0.0.1 and that no other test process will be handed,
// for test servers that cannot take port 0. Never 6379 (the machine's Redis), 6390 (Untradex's default) nor a port fetch refuses.

import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * 6379 and 6390 as above; 10080 is the one port of the Fetch standard's "bad ports" above LOWEST:
 * Node's fetch and Chromium refuse it ("bad port", ERR_UNSAFE_PORT), so a control port drawn there
 * failed a test that had done nothing wrong (restart-intensity, once in ten runs).
 */
const RESERVED = new Set([6379, 6390, 10080]);
const LOWEST = 10_000;
/**
 * Ports this process already handed out: a helper may ask for several before any listens (the
 * test cluster starts its nodes at once), and a random draw could repeat one that is still free.
 */
const handedOut = new Set<number>();
/**
 * One file per port handed out, named by the port and holding the pid it was handed to. A port
 * checked free is not yet listened on, so two test files running at once could both draw it and
 * one then fails its listen (EADDRINUSE: seen at four files at a time). The file claims the port
 * across processes until this one exits; a claim whose process is gone (killed by a timeout) is
 * taken over.
 */
const CLAIMS = join(tmpdir(), 'untradex-test-ports');
const claimed: string[] = [];

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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** Claims the port for this process; false when a live process holds it. Exported for its test. */
export function claimPort(port: number): boolean {
  prepare();
  const path = join(CLAIMS, String(port));
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      claimed.push(path);
      return true;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    let holder: number;
    try {
      holder = Number(readFileSync(path, 'utf8'));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') continue; // released between our write and our read
      throw error;
    }
    // An empty file is a claim being written right now: taken.
    if (!Number.isInteger(holder) || holder <= 0 || isAlive(holder)) return false;
    try {
      unlinkSync(path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
  }
  return false;
}

function releaseClaims(): void {
  for (const path of claimed) {
    try {
      unlinkSync(path);
    } catch {
      // Already gone (a stale-claim sweep by another process): nothing is left to release.
    }
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

let prepared = false;
function prepare(): void {
  if (prepared) return;
  prepared = true;
  mkdirSync(CLAIMS, { recursive: true });
  process.once('exit', releaseClaims);
}

export async function freePort(): Promise<number> {
  prepare();
  const high = ephemeralStart();
  for (;;) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
    if (RESERVED.has(port) || handedOut.has(port)) continue;
    handedOut.add(port);
    if (!claimPort(port)) continue;
    if (await isFree(port)) return port;
  }
}
