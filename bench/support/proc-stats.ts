// Reads a process's RSS and CPU time from /proc/<pid>/status and /proc/<pid>/stat, finds the
// redis-server a server started, and samples both over a run (the load generator's server side).

import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: clock ticks per second in /proc/<pid>/stat. 100 on every Linux we run on. */
const CLOCK_TICKS = 100;

export interface ProcSample {
  pid: number;
  rssBytes: number;
  /** User plus system CPU time since the process started. */
  cpuSeconds: number;
  /**
   * Context switches of all its threads since they started (voluntary and not): each is a thread
   * going to sleep or being put off the CPU, so about one wake-up each.
   */
  contextSwitches: number;
}

/** Voluntary plus involuntary context switches summed over every thread of `pid`; 0 if it is gone. */
function readContextSwitches(pid: number): number {
  let total = 0;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const task of tasks) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      for (const match of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) total += Number(match[1]);
    } catch {
      // the thread ended while we looked
    }
  }
  return total;
}

/** User plus system CPU seconds of a process or thread, from its /proc stat line. */
function cpuSecondsOf(stat: string): number {
  // The command name is in parentheses and may hold spaces: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * CPU seconds of each thread of `pid` since it started, by thread id (empty once the process is
 * gone). Node names every thread `node`, so a thread is told apart by how busy it is: the busiest
 * thread of a server under load is the loop that reads its sockets (the naive server's one thread,
 * Untradex's connection actor); the others are V8's compiler and garbage-collector threads, the
 * writers and the supervisor.
 */
export function readThreadCpu(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const task of tasks) {
    try {
      threads.set(Number(task), cpuSecondsOf(readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8')));
    } catch {
      // the thread ended while we looked
    }
  }
  return threads;
}

/** One reading, or null when the process is gone. */
export function readProc(pid: number): ProcSample | null {
  try {
    const cpuSeconds = cpuSecondsOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return { pid, rssBytes: rss === null ? 0 : Number(rss[1]) * 1024, cpuSeconds, contextSwitches: readContextSwitches(pid) };
  } catch {
    return null;
  }
}

interface ProcEntry {
  pid: number;
  ppid: number;
  comm: string;
}

function processTable(): ProcEntry[] {
  const table: ProcEntry[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      table.push({ pid: Number(entry), ppid, comm });
    } catch {
      // the process exited while we looked
    }
  }
  return table;
}

/** Descendants of `root` (children, grandchildren...) with their command names. */
function descendants(root: number): ProcEntry[] {
  const table = processTable();
  const found: ProcEntry[] = [];
  const parents = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const entry of table) {
      if (parents.has(entry.ppid) && !parents.has(entry.pid)) {
        parents.add(entry.pid);
        found.push(entry);
        grew = true;
      }
    }
  }
  return found;
}

/** Descendants of `root` whose command name is `comm` (e.g. the embedded redis-server). */
export function findChildren(root: number, comm: string): number[] {
  return descendants(root).filter((entry) => entry.comm === comm).map((entry) => entry.pid);
}

/**
 * The server as a whole: its process plus every descendant that is not `exclude` (the
 * listen-socket broker, the gateway processes of a multi-process config), summed.
 */
export function readTree(root: number, exclude = 'redis-server'): ProcSample | null {
  const top = readProc(root);
  if (top === null) return null;
  for (const entry of descendants(root)) {
    if (entry.comm === exclude) continue;
    const part = readProc(entry.pid);
    if (part === null) continue;
    top.rssBytes += part.rssBytes;
    top.cpuSeconds += part.cpuSeconds;
    top.contextSwitches += part.contextSwitches;
  }
  return top;
}

/** The server side of a benchmark: the server process and its Redis, sampled together. */
export interface ServerPids {
  /** The server's process; its descendants other than redis-server count as the server too. */
  server: number;
  redis: number | null;
}

export interface CpuWindow {
  serverCpuSeconds: number;
  redisCpuSeconds: number;
  /** Context switches of the server's threads (and its other processes) and of its Redis over the window. */
  serverWakeups: number;
  redisWakeups: number;
  wallSeconds: number;
  /** CPU of the server's busiest thread over the window (a thread of the server process itself). */
  busiestThreadCpuSeconds: number;
}

/** CPU and wall time between two points of a run, for the server and its Redis. */
export class CpuMeter {
  #start: { server: ProcSample | null; redis: ProcSample | null; threads: Map<number, number>; at: number } | null = null;

  constructor(private readonly pids: ServerPids) {}

  begin(): void {
    this.#start = { server: readTree(this.pids.server), redis: this.pids.redis === null ? null : readProc(this.pids.redis), threads: readThreadCpu(this.pids.server), at: performance.now() };
  }

  end(): CpuWindow {
    const start = this.#start;
    if (start === null) throw new Error('CpuMeter.end() before begin()');
    const server = readTree(this.pids.server);
    const redis = this.pids.redis === null ? null : readProc(this.pids.redis);
    let busiest = 0;
    // A thread started inside the window counts from zero; one that ended inside it is not seen.
    for (const [thread, cpu] of readThreadCpu(this.pids.server)) busiest = Math.max(busiest, cpu - (start.threads.get(thread) ?? 0));
    return {
      serverCpuSeconds: (server?.cpuSeconds ?? 0) - (start.server?.cpuSeconds ?? 0),
      redisCpuSeconds: (redis?.cpuSeconds ?? 0) - (start.redis?.cpuSeconds ?? 0),
      serverWakeups: (server?.contextSwitches ?? 0) - (start.server?.contextSwitches ?? 0),
      redisWakeups: (redis?.contextSwitches ?? 0) - (start.redis?.contextSwitches ?? 0),
      wallSeconds: (performance.now() - start.at) / 1000,
      busiestThreadCpuSeconds: busiest,
    };
  }
}

/** Highest RSS seen while sampling every `intervalMs`; stop() returns the peaks. */
export function sampleRss(pids: ServerPids, intervalMs = 500): { stop(): { serverPeakBytes: number; redisPeakBytes: number } } {
  let serverPeak = 0;
  let redisPeak = 0;
  const take = () => {
    serverPeak = Math.max(serverPeak, readTree(pids.server)?.rssBytes ?? 0);
    if (pids.redis !== null) redisPeak = Math.max(redisPeak, readProc(pids.redis)?.rssBytes ?? 0);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { serverPeakBytes: serverPeak, redisPeakBytes: redisPeak };
    },
  };
}
