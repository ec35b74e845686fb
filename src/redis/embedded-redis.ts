// Runs a private redis-server for embedded mode: AOF on, data under dataDir, bound to localhost.
// It only starts and stops the process (redis-server-process.ts); restarting it after a crash is the root supervisor's job.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmod, mkdir, open, readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { RedisNotInstalledError, RedisStartError, type UntradexError } from '../errors.js';
import { REDIS_STOP_TIMEOUT_MS } from '../stop-timeouts.js';
import { describeRedisExit } from './redis-exit-words.js';
import { RedisServerProcess } from './redis-server-process.js';

export interface EmbeddedRedisOptions {
  /** The redis-server binary: a name looked up on PATH, or a path. */
  serverPath: string;
  port: number;
  /** Redis keeps its AOF and log in `<dataDir>/redis`. */
  dataDir: string;
  appendfsync: 'always' | 'everysec';
  /** Address to bind; default 127.0.0.1 (never expose it: it is for this server's actors only). */
  host?: string;
  /**
   * requirepass: every client must AUTH, so another local user cannot read or change answers.
   * Handed over on stdin, never on the command line (which `ps` shows to everyone).
   */
  password?: string;
  /** How long start() waits for the server to answer, AOF load included; default 30000. */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL; default 10000. */
  stopTimeoutMs?: number;
  /** Where a stop that had to be forced is told; default silent. */
  log?: Logger;
}

const MIN_MAJOR_VERSION = 7;
const POLL_MS = 50;
const LOG_TAIL_BYTES = 4096;

/**
 * Emits 'exit' (code: number | null, signal: string | null, cause: string) when a started server
 * exits without stop() (a crash, or kill()); `cause` says why in words (describeExit). A failed start
 * is reported by start() rejecting instead. As a supervisor's child handle, onCrash() hears the same
 * exit as a coded error.
 */
export class EmbeddedRedis extends EventEmitter {
  readonly port: number;
  readonly url: string;
  private readonly options: EmbeddedRedisOptions;
  private readonly host: string;
  private readonly redisDir: string;
  /** The server of the current start, until it has exited. */
  private running: RedisServerProcess | undefined;
  private crashListener: ((error: UntradexError) => void) | null = null;

  constructor(options: EmbeddedRedisOptions) {
    super();
    this.options = options;
    this.port = options.port;
    this.host = options.host ?? '127.0.0.1';
    this.url = `redis://${this.host}:${this.port}`;
    this.redisDir = join(options.dataDir, 'redis');
  }

  get pid(): number | undefined {
    return this.running?.child.pid;
  }

  get logPath(): string {
    return join(this.redisDir, 'redis.log');
  }

  /** Written by redis-server itself; lets the next start find a server a killed Untradex left behind. */
  get pidPath(): string {
    return join(this.redisDir, 'redis.pid');
  }

  /**
   * Why a server died, in words an operator acts on: the disk of dataDir when it is (nearly) full,
   * else the last warning of Redis's own log. Never throws.
   */
  async describeExit(code: number | null, signal: string | null, stderr = ''): Promise<string> {
    return describeRedisExit({ code, signal, tail: await this.logTail(stderr), dataDir: this.options.dataDir, logPath: this.logPath });
  }

  /** Starts the server and resolves once it answers and has loaded its AOF. */
  async start(): Promise<void> {
    if (this.running !== undefined) throw new RedisStartError(`embedded Redis on port ${this.port} is already running`);
    await checkVersion(this.options.serverPath);
    await mkdir(this.redisDir, { recursive: true, mode: 0o700 });
    await makePrivate(this.redisDir);
    await this.stopOrphan();
    await assertPortFree(this.host, this.port);

    // Its own process group: Ctrl-C in a terminal (and systemd's stop) signals the whole foreground
    // group, and Redis must not stop by itself while Untradex still drains events into it (rule S1).
    // A private umask while spawning (spawn forks synchronously): redis-server creates the AOF,
    // its log and its pid file 0600, whatever the umask Untradex was started with.
    const umask = process.umask(0o077);
    let child: ChildProcess;
    try {
      child = spawn(this.options.serverPath, ['-', ...this.serverArgs()], { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    } finally {
      process.umask(umask);
    }
    // `-` makes redis-server read a config file from stdin before its arguments: the password goes there.
    child.stdin?.on('error', () => undefined); // a server that dies at once closes it; its exit tells why
    child.stdin?.end(this.options.password === undefined ? '' : `requirepass ${quoteConfigValue(this.options.password)}\n`);
    const server = new RedisServerProcess(
      child,
      this.port,
      this.options.log ?? pino({ level: 'silent' }),
      { readyTimeoutMs: this.options.startTimeoutMs ?? 30_000, stopTimeoutMs: this.options.stopTimeoutMs ?? REDIS_STOP_TIMEOUT_MS },
      {
        describeExit: (code, signal, stderr) => this.describeExit(code, signal, stderr),
        startFailure: (exit, stderr) => this.startFailure(exit, stderr),
        logTail: (stderr) => this.logTail(stderr),
        shutdown: () => this.shutdown(),
      },
      LOG_TAIL_BYTES,
    );
    this.running = server;
    // If this Node process exits (even on an uncaught exception) the server must not outlive it
    // and keep the port and the AOF busy. kill() is synchronous, as an 'exit' handler needs.
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    void server.gone.then(() => {
      process.removeListener('exit', killOnExit);
      if (this.running === server) this.running = undefined;
    });
    server.onCrash((error) => {
      const exit = server.unaskedExit;
      if (exit !== null) this.emit('exit', exit.code, exit.signal, exit.why);
      this.crashListener?.(error);
    });
    try {
      await server.waitAnswering(() => this.answers(child.pid));
    } catch (error) {
      // A spawn that failed emits 'error' and no 'exit': nothing runs, and a later start() may try again.
      if (this.running === server) this.running = undefined;
      if (child.pid === undefined) process.removeListener('exit', killOnExit);
      throw error;
    }
  }

  /** SHUTDOWN (Redis fsyncs the AOF and exits; SIGTERM if refused), SIGKILL if it hangs. Safe to call at any time. */
  async stop(): Promise<void> {
    await this.running?.stop();
  }

  /** Registers the one listener told, as UX_ERR_REDIS_UNAVAILABLE, when a started server exits unasked. */
  onCrash(listener: (error: UntradexError) => void): void {
    this.crashListener = listener;
  }

  /** For fault tests: signals the server directly (SIGKILL by default); it then emits 'exit'. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.running?.child.kill(signal);
  }

  private serverArgs(): string[] {
    return [
      '--port', String(this.port),
      '--bind', this.host,
      '--dir', this.redisDir,
      '--appendonly', 'yes',
      '--appendfsync', this.options.appendfsync,
      // Redis's cron (expiry sampling, stats, client timeouts) runs `hz` times a second, busy or not:
      // at the default 10 it was most of an idle Untradex's CPU. With appendfsync always every write
      // is fsynced before its reply, so the cron paces nothing that durability needs; with everysec
      // an idle server's last second of writes is fsynced from the cron, so it keeps Redis's default.
      '--hz', this.options.appendfsync === 'always' ? '1' : '10',
      // AOF only: an RDB snapshot would fork a copy of the whole dataset mid-exam for nothing.
      '--save', '',
      // Refuse writes when full instead of evicting acknowledged answers.
      '--maxmemory-policy', 'noeviction',
      '--daemonize', 'no',
      '--pidfile', this.pidPath,
      '--logfile', this.logPath,
    ];
  }

  /**
   * A redis-server still running on this dataDir belongs to a previous Untradex that died without
   * stopping it (kill -9 of the main process alone: Redis runs in its own process group). The
   * dataDir lock (rule S2) says no live Untradex owns it, so it is stopped: SIGTERM flushes its AOF.
   */
  private async stopOrphan(): Promise<void> {
    const pid = Number((await readFile(this.pidPath, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 1 || !(await isLiveRedisIn(pid, this.redisDir))) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + (this.options.stopTimeoutMs ?? REDIS_STOP_TIMEOUT_MS);
    while (await isLiveRedisIn(pid, this.redisDir)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        break;
      }
      await sleep(POLL_MS);
    }
    while (await isLiveRedisIn(pid, this.redisDir)) await sleep(POLL_MS);
  }

  /**
   * Asks the server to SHUTDOWN; true once it has taken the command (it closes the connection
   * instead of replying), false when it could not be asked. Redis acts on a SIGTERM only at its next
   * cron tick, up to a second at hz 1; SHUTDOWN acts at once.
   */
  private async shutdown(): Promise<boolean> {
    // A frozen server (SIGSTOP in a fault test) takes the connection but never answers: SIGTERM then.
    const client = this.client('untradex-embedded-stop', 2000);
    try {
      await client.connect();
      // The server closes the connection as it exits: the reply is the connection's end, not a value.
      await client.call('SHUTDOWN').catch((error: unknown) => {
        if (!/Connection is closed|ECONNRESET/i.test(String(error))) throw error;
      });
      return true;
    } catch (error) {
      this.options.log?.warn({ err: error, port: this.port }, 'embedded redis-server did not take SHUTDOWN; stopping it with SIGTERM');
      return false;
    } finally {
      client.disconnect();
    }
  }

  /** A one-off connection to our server that never retries: for probes and the stop. */
  private client(connectionName: string, commandTimeoutMs?: number): Redis {
    const client = new Redis({
      host: this.host,
      port: this.port,
      ...(this.options.password === undefined ? {} : { password: this.options.password }),
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1000,
      ...(commandTimeoutMs === undefined ? {} : { commandTimeout: commandTimeoutMs }),
      connectionName,
    });
    client.on('error', () => undefined); // each caller reads its command's own failure
    return client;
  }

  /** True once a server answers on our port and reports our child's pid (not a stranger's). */
  private async answers(pid: number | undefined): Promise<boolean> {
    const probe = this.client('untradex-embedded-probe'); // a refused connection is the expected answer while starting
    try {
      await probe.connect();
      const info = await probe.info('server');
      const match = /process_id:(\d+)/.exec(info);
      return match !== null && Number(match[1]) === pid;
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }

  private async startFailure(
    exit: { code: number | null; signal: string | null; error?: Error },
    stderr: string,
  ): Promise<UntradexError> {
    if (exit.error !== undefined) {
      if ((exit.error as NodeJS.ErrnoException).code === 'ENOENT') {
        return new RedisNotInstalledError(this.options.serverPath, { cause: exit.error });
      }
      return new RedisStartError(`could not run "${this.options.serverPath}": ${exit.error.message}`, { cause: exit.error });
    }
    const tail = await this.logTail(stderr);
    if (/Address already in use/i.test(tail)) return portInUse(this.host, this.port);
    const cause = await this.describeExit(exit.code, exit.signal, stderr);
    return new RedisStartError(`embedded redis-server on port ${this.port} ${cause}. Log tail:\n${tail}`);
  }

  private async logTail(stderr: string): Promise<string> {
    let log = '';
    try {
      const file = await open(this.logPath, 'r');
      try {
        const { size } = await file.stat();
        const length = Math.min(size, LOG_TAIL_BYTES);
        const buffer = Buffer.alloc(length);
        await file.read(buffer, 0, length, size - length);
        log = buffer.toString('utf8');
      } finally {
        await file.close();
      }
    } catch {
      log = `(no log at ${this.logPath})`;
    }
    return stderr.trim() === '' ? log : `${log}\n${stderr}`;
  }
}

/** A value for a redis.conf line, quoted so that spaces or quotes in it cannot start another directive. */
function quoteConfigValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The Redis directory and what it holds are the owner's only: the AOF is every answer of every
 * exam. Files made by an older Untradex (or under a loose umask) are tightened at start.
 */
async function makePrivate(redisDir: string): Promise<void> {
  const tighten = async (path: string, mode: number) => {
    try {
      if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, mode);
    } catch {
      // gone meanwhile, or not ours: the start goes on, Redis itself reports what it cannot open
    }
  };
  await tighten(redisDir, 0o700);
  for (const entry of await readdir(redisDir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    await tighten(join(entry.parentPath ?? entry.path, entry.name), entry.isDirectory() ? 0o700 : 0o600);
  }
}

/**
 * A live (not zombie) process whose working directory is `redisDir`: redis-server chdirs into its
 * --dir, so this names our server and never an unrelated process that reused the pid.
 */
async function isLiveRedisIn(pid: number, redisDir: string): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    return (await readlink(`/proc/${pid}/cwd`)) === (await realpath(redisDir));
  } catch {
    return false;
  }
}

function portInUse(host: string, port: number): RedisStartError {
  return new RedisStartError(
    `port ${port} on ${host} is already in use, so the embedded Redis cannot listen there. ` +
      'Stop whatever holds it, or choose another port with the config key redis.port.',
  );
}

/** Fails fast with a clear error instead of letting redis-server die on bind (or a stranger answer). */
async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(portInUse(host, port));
      else reject(new RedisStartError(`cannot check port ${port} on ${host}: ${error.message}`, { cause: error }));
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Runs `redis-server --version` and refuses anything older than 7 (Functions are needed). */
async function checkVersion(serverPath: string): Promise<void> {
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(serverPath, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (text += chunk));
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') reject(new RedisNotInstalledError(serverPath, { cause: error }));
      else reject(new RedisStartError(`could not run "${serverPath} --version": ${error.message}`, { cause: error }));
    });
    child.once('close', (code) => {
      if (code === 0) resolve(text);
      else reject(new RedisStartError(`"${serverPath} --version" exited with code ${String(code)}`));
    });
  });
  const match = /v=(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (match === null) throw new RedisStartError(`cannot read the version of "${serverPath}": ${output.trim()}`);
  const major = Number(match[1]);
  if (major < MIN_MAJOR_VERSION) {
    throw new RedisStartError(
      `"${serverPath}" is Redis ${match[1]}.${match[2]}.${match[3]}; Untradex needs Redis ${MIN_MAJOR_VERSION} or newer (for Redis Functions)`,
    );
  }
}
