// Starts a private Redis Cluster for one test: N primaries (and optionally one replica each) from
// redis-server on free ports, AOF always, created by redis-cli; stopped and removed at teardown.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis, type Cluster } from 'ioredis';
import { createRedisClient, type ClusterTarget } from '../../src/redis/redis-client.js';
import { freePort } from './free-port.js';
import type { TeardownHost } from './redis-server.js';

const run = promisify(execFile);

export interface TestClusterOptions {
  /** Default 3. */
  primaries?: number;
  /** Replicas per primary; default 0. Failover tests ask for 1. */
  replicas?: number;
  /** Default `always`, as Untradex's durability asks. */
  appendfsync?: 'always' | 'everysec';
  /** cluster-node-timeout in ms; default 1000, so a failover takes a couple of seconds. */
  nodeTimeoutMs?: number;
  /**
   * cluster-require-full-coverage; default true (Redis's default). False lets the healthy shards
   * serve their slots while a failed primary's slots are uncovered, as shard isolation needs.
   */
  requireFullCoverage?: boolean;
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

export interface TestCluster {
  nodes: TestClusterNode[];
  /** `127.0.0.1:<port>` of every node, as `redis.cluster` takes them. */
  seeds: string[];
  target: ClusterTarget;
  /** A Cluster client with Untradex's options (name `test`), quit at teardown. */
  client(name?: string): Cluster;
  /** A plain connection to one node, closed at teardown. */
  nodeClient(node: TestClusterNode): Redis;
  /** The node that serves `key`'s slot now, as the live nodes see it. */
  primaryOf(key: string): Promise<TestClusterNode>;
  /** The replicas a primary streams to now (its INFO replication). */
  replicasOf(primary: TestClusterNode): Promise<TestClusterNode[]>;
  /**
   * Starts a new, empty node, joins it with CLUSTER MEET and hands it the (empty) slot of `key`
   * with CLUSTER SETSLOT. Unlike `redis-cli --cluster add-node`, which copies the functions of an
   * existing node, nothing is copied: the new primary starts without the function library.
   */
  addPrimaryFor(key: string): Promise<TestClusterNode>;
  /**
   * Resolves once every live node says cluster_state:ok and every live replica is in sync (at
   * start also: every primary has its replicas).
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
}

type NodeOptions = Required<Omit<TestClusterOptions, 'primaries' | 'replicas'>>;

const START_ATTEMPTS = 3;
const POLL_MS = 50;

class NodeProcess implements TestClusterNode {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly busPort: number,
    readonly dir: string,
    private readonly options: NodeOptions,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes',
      // An explicit bus port: port + 10000 may be past 65535 or taken.
      '--cluster-port', String(this.busPort),
      '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(this.options.nodeTimeoutMs),
      // A replica may take over however long it was cut off: the test kills primaries on purpose.
      '--cluster-replica-validity-factor', '0',
      '--cluster-require-full-coverage', this.options.requireFullCoverage ? 'yes' : 'no',
      '--appendonly', 'yes',
      '--appendfsync', this.options.appendfsync,
      '--save', '',
      '--dir', this.dir,
      '--logfile', 'redis.log',
      '--daemonize', 'no',
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
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
    const probe = new Redis({ port: this.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
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

async function startNode(root: string, index: number, options: NodeOptions): Promise<NodeProcess> {
  // Another process may take a free port before redis-server binds it: try fresh ones.
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

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export async function startTestCluster(t: TeardownHost, opts: TestClusterOptions = {}): Promise<TestCluster> {
  const primaries = opts.primaries ?? 3;
  const replicas = opts.replicas ?? 0;
  const options: NodeOptions = { appendfsync: opts.appendfsync ?? 'always', nodeTimeoutMs: opts.nodeTimeoutMs ?? 1000, requireFullCoverage: opts.requireFullCoverage ?? true };
  const root = await mkdtemp(join(tmpdir(), 'ux-cluster-'));
  const nodes: NodeProcess[] = [];
  const closers: Array<() => void> = [];
  t.teardown(async () => {
    for (const close of closers) close();
    await Promise.all(nodes.map((node) => node.kill()));
    await rm(root, { recursive: true, force: true });
  });

  const count = primaries * (1 + replicas);
  nodes.push(...(await Promise.all(Array.from({ length: count }, (_, index) => startNode(root, index, options)))));
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  // redis-cli makes the first `primaries` nodes primaries and the rest their replicas.
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 });

  const nodeClient = (node: TestClusterNode): Redis => {
    const client = new Redis({ port: node.port, host: '127.0.0.1', retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    closers.push(() => client.disconnect());
    return client;
  };
  const live = () => nodes.filter((node) => node.pid !== undefined);
  let creating = true;

  const cluster: TestCluster = {
    nodes,
    seeds: addresses,
    target: { cluster: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) },
    client(name = 'test') {
      const client = createRedisClient(cluster.target, name);
      client.on('error', () => undefined);
      closers.push(() => client.disconnect());
      return client;
    },
    nodeClient,
    async primaryOf(key) {
      for (const node of live()) {
        const admin = nodeClient(node);
        try {
          const slot = Number(await admin.cluster('KEYSLOT', key));
          const range = (await admin.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
          const owner = nodes.find((candidate) => candidate.port === range?.[2]?.[1]);
          if (owner !== undefined) return owner;
        } catch {
          // ask the next node
        } finally {
          admin.disconnect();
        }
      }
      throw new Error(`no live node knows the owner of ${key}`);
    },
    async replicasOf(primary) {
      const admin = nodeClient(primary);
      try {
        const ports = [...(await admin.info('replication')).matchAll(/^slave\d+:.*\bport=(\d+)/gm)].map((m) => Number(m[1]));
        return nodes.filter((node) => ports.includes(node.port));
      } finally {
        admin.disconnect();
      }
    },
    async addPrimaryFor(key) {
      const owner = await cluster.primaryOf(key);
      const node = await startNode(root, nodes.length, options);
      nodes.push(node);
      const added = nodeClient(node);
      await added.cluster('MEET', '127.0.0.1', owner.port, owner.busPort);
      await cluster.waitHealthy();
      const ownerClient = nodeClient(owner);
      const [ownerId, addedId] = [String(await ownerClient.cluster('MYID')), String(await added.cluster('MYID'))];
      const slot = Number(await added.cluster('KEYSLOT', key));
      if (Number(await ownerClient.cluster('COUNTKEYSINSLOT', slot)) !== 0) throw new Error(`slot ${slot} of ${key} holds keys`);
      // The documented order for moving a slot, with no keys to MIGRATE in between.
      await added.cluster('SETSLOT', slot, 'IMPORTING', ownerId);
      await ownerClient.cluster('SETSLOT', slot, 'MIGRATING', addedId);
      await added.cluster('SETSLOT', slot, 'NODE', addedId);
      await ownerClient.cluster('SETSLOT', slot, 'NODE', addedId);
      const deadline = Date.now() + 15_000;
      while ((await cluster.primaryOf(key)) !== node) {
        if (Date.now() > deadline) throw new Error(`slot ${slot} did not move to ${node.port}`);
        await sleep(POLL_MS);
      }
      await cluster.waitHealthy();
      return node;
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        const problems: string[] = [];
        await Promise.all(
          live().map(async (node) => {
            const admin = nodeClient(node);
            try {
              const info = String(await admin.cluster('INFO'));
              if (infoField(info, 'cluster_state') !== 'ok') problems.push(`${node.port}: cluster_state ${infoField(info, 'cluster_state')}`);
              if (infoField(info, 'cluster_known_nodes') !== String(nodes.length)) problems.push(`${node.port}: knows ${infoField(info, 'cluster_known_nodes')} nodes`);
              const replication = await admin.info('replication');
              if (infoField(replication, 'role') === 'slave' && (infoField(replication, 'master_link_status') !== 'up' || infoField(replication, 'master_sync_in_progress') !== '0')) {
                problems.push(`${node.port}: replica not in sync`);
              }
              if (creating && infoField(replication, 'role') === 'master' && replicas > 0 && infoField(replication, 'connected_slaves') === '0') {
                problems.push(`${node.port}: primary without a replica`);
              }
            } catch (error) {
              problems.push(`${node.port}: ${(error as Error).message}`);
            } finally {
              admin.disconnect();
            }
          }),
        );
        if (problems.length === 0) return;
        last = problems.join('; ');
        if (Date.now() > deadline) throw new Error(`the cluster did not become healthy: ${last}`);
        await sleep(100);
      }
    },
  };
  await cluster.waitHealthy();
  creating = false;
  return cluster;
}
