// One redis-server process for a test: a Cluster node or a lone server, optionally behind a
// password, an ACL user and TLS; killed, frozen and restarted on its port and files by the test.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisAccess } from '../../src/redis/redis-client.js';
import { freePort } from './free-port.js';
import type { TestCertificates } from './test-certificates.js';

/** Who may talk to the servers, and how. Everything off by default, as the other tests want. */
export interface TestRedisSecurity {
  /** The `default` user's password (requirepass), also the replicas' masterauth; the helpers use it. */
  password?: string;
  /** One more ACL user, the one Untradex connects as. Rules default to everything (`~* &* +@all`). */
  user?: { name: string; password: string; rules?: string[] };
  /** TLS only (no plain port); nodes talk TLS on the cluster bus and for replication too. */
  tls?: TestCertificates;
  /** tls-auth-clients: default `yes`, a client must present a certificate the CA signed. */
  tlsAuthClients?: 'yes' | 'no' | 'optional';
}

export interface NodeProcessOptions extends TestRedisSecurity {
  /** A Cluster node (with cluster-node-timeout in ms), or null for a lone server. */
  cluster: { nodeTimeoutMs: number } | null;
  appendfsync: 'always' | 'everysec';
}

export interface TestClusterNode {
  port: number;
  busPort: number;
  dir: string;
  /** Undefined while the process is not running. */
  pid: number | undefined;
  /** SIGKILL, as a crash or power loss would; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts a killed node again on its port and files: it rejoins (a lost primary as a replica). */
  restart(): Promise<void>;
  /** SIGSTOP: the process stops answering but its sockets stay open, as a hung server's would. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
}

const START_ATTEMPTS = 3;
const POLL_MS = 50;

/** The access the helpers themselves use: the `default` user, and the test certificate under TLS. */
export function adminAccess(security: TestRedisSecurity): RedisAccess {
  const { password, tls } = security;
  return {
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls: { ca: tlsText(tls.caFile), cert: tlsText(tls.certFile), key: tlsText(tls.keyFile) } }),
  };
}

// Read once per file: the helpers open many short admin connections, from synchronous code.
const pemCache = new Map<string, string>();
function tlsText(path: string): string {
  let text = pemCache.get(path);
  if (text === undefined) {
    text = readFileSync(path, 'utf8');
    pemCache.set(path, text);
  }
  return text;
}

/** ioredis options for a short admin connection to one node, as the `default` user. */
export function adminOptions(security: TestRedisSecurity): RedisOptions {
  const access = adminAccess(security);
  return { ...(access.password === undefined ? {} : { password: access.password }), ...(access.tls === undefined ? {} : { tls: access.tls }) };
}

export class NodeProcess implements TestClusterNode {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly busPort: number,
    readonly dir: string,
    private readonly options: NodeProcessOptions,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private args(): string[] {
    const { cluster, tls, password, user } = this.options;
    const args = ['--bind', '127.0.0.1'];
    if (tls === undefined) args.push('--port', String(this.port));
    else {
      // TLS only: port 0 closes the plain port, so a client without TLS cannot get in at all.
      args.push('--port', '0', '--tls-port', String(this.port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile);
      args.push('--tls-auth-clients', this.options.tlsAuthClients ?? 'yes');
      if (cluster !== null) args.push('--tls-cluster', 'yes', '--tls-replication', 'yes');
    }
    if (password !== undefined) args.push('--requirepass', password, '--masterauth', password);
    if (user !== undefined) args.push('--user', user.name, 'on', `>${user.password}`, ...(user.rules ?? ['~*', '&*', '+@all']));
    if (cluster !== null) {
      args.push(
        '--cluster-enabled', 'yes',
        // An explicit bus port: port + 10000 may be past 65535 or taken.
        '--cluster-port', String(this.busPort),
        '--cluster-config-file', 'nodes.conf',
        '--cluster-node-timeout', String(cluster.nodeTimeoutMs),
        // A replica may take over however long it was cut off: the test kills primaries on purpose.
        '--cluster-replica-validity-factor', '0',
      );
    }
    args.push(
      '--appendonly', 'yes',
      '--appendfsync', this.options.appendfsync,
      '--save', '',
      '--dir', this.dir,
      '--logfile', 'redis.log',
      '--daemonize', 'no',
    );
    return args;
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const child = spawn('redis-server', this.args(), { stdio: 'ignore' });
    this.child = child;
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    let gone = false;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        gone = true;
        process.removeListener('exit', killOnExit);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    const probe = new Redis({ port: this.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, ...adminOptions(this.options) });
    probe.on('error', () => undefined);
    try {
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (gone) throw new Error(`redis-server on port ${this.port} exited while starting:\n${await this.logTail()}`);
        try {
          if (probe.status !== 'ready') await probe.connect();
          if ((await probe.ping()) === 'PONG') return;
        } catch {
          probe.disconnect();
        }
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer:\n${await this.logTail()}`);
        await sleep(POLL_MS);
      }
    } finally {
      probe.disconnect();
    }
  }

  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error(`redis-server on port ${this.port} is still running`);
    await this.start();
  }

  async logTail(): Promise<string> {
    return (await readFile(join(this.dir, 'redis.log'), 'utf8').catch(() => '')).slice(-2000);
  }
}

/** Starts a node on fresh free ports: another process may take a free port before redis-server binds it. */
export async function startNodeProcess(root: string, index: number, options: NodeProcessOptions): Promise<NodeProcess> {
  for (let attempt = 1; ; attempt += 1) {
    const node = new NodeProcess(await freePort(), await freePort(), join(root, `node-${index}-${attempt}`), options);
    try {
      await node.start();
      return node;
    } catch (error) {
      await node.kill();
      if (attempt >= START_ATTEMPTS) throw error;
    }
  }
}

export interface LoneTestRedis {
  node: TestClusterNode;
  port: number;
  /** An admin connection (the `default` user), closed at teardown. */
  client(): Redis;
}

/** A lone redis-server (no cluster, appendfsync always) behind `security`, removed at teardown. */
export async function startLoneTestRedis(t: { teardown(fn: () => unknown): void }, security: TestRedisSecurity): Promise<LoneTestRedis> {
  const root = await mkdtemp(join(tmpdir(), 'ux-redis-'));
  const clients: Redis[] = [];
  let node: NodeProcess | undefined;
  t.teardown(async () => {
    for (const client of clients) client.disconnect();
    await node?.kill();
    await rm(root, { recursive: true, force: true });
  });
  node = await startNodeProcess(root, 0, { ...security, cluster: null, appendfsync: 'always' });
  const started = node;
  return {
    node: started,
    port: started.port,
    client() {
      const client = new Redis({ port: started.port, host: '127.0.0.1', maxRetriesPerRequest: 3, ...adminOptions(security) });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
  };
}
