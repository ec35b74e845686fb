// Starts a private Redis Cluster for one test: N primaries (and optionally one replica each) from
// redis-server on free ports, AOF always, created by redis-cli; stopped and removed at teardown.
// Optionally behind a password, an ACL user and TLS (test/helpers/redis-node-process.ts).

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis, type Cluster } from 'ioredis';
import { loadFunctionLibrary } from '../../src/redis/function-library.js';
import { createRedisClient, disconnectRedisClient, waitForRedis, type ClusterTarget } from '../../src/redis/redis-client.js';
import { adminAccess, adminOptions, startNodeProcess, type NodeProcess, type NodeProcessOptions, type TestClusterNode, type TestRedisSecurity } from './redis-node-process.js';
import type { TeardownHost } from './redis-server.js';

export type { TestClusterNode } from './redis-node-process.js';

const run = promisify(execFile);

export interface TestClusterOptions extends TestRedisSecurity {
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

export interface TestCluster {
  nodes: TestClusterNode[];
  /** `127.0.0.1:<port>` of every node, as `redis.cluster` takes them. */
  seeds: string[];
  /** Every node, as the `default` user (with the password and the test certificate, when set). */
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

const POLL_MS = 50;

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export async function startTestCluster(t: TeardownHost, opts: TestClusterOptions = {}): Promise<TestCluster> {
  const { primaries = 3, replicas = 0, appendfsync = 'always', nodeTimeoutMs = 1000, requireFullCoverage = true, ...security } = opts;
  const options: NodeProcessOptions = { ...security, appendfsync, cluster: { nodeTimeoutMs, requireFullCoverage } };
  const admin = adminOptions(security);
  const root = await mkdtemp(join(tmpdir(), 'ux-cluster-'));
  const nodes: NodeProcess[] = [];
  const closers: Array<() => void> = [];
  t.teardown(async () => {
    for (const close of closers) close();
    await Promise.all(nodes.map((node) => node.kill()));
    await rm(root, { recursive: true, force: true });
  });

  const count = primaries * (1 + replicas);
  nodes.push(...(await Promise.all(Array.from({ length: count }, (_, index) => startNodeProcess(root, index, options)))));
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  const cliAccess = [
    ...(opts.tls === undefined ? [] : ['--tls', '--cacert', opts.tls.caFile, '--cert', opts.tls.certFile, '--key', opts.tls.keyFile]),
    ...(opts.password === undefined ? [] : ['-a', opts.password, '--no-auth-warning']),
  ];
  // redis-cli makes the first `primaries` nodes primaries and the rest their replicas.
  await run('redis-cli', [...cliAccess, '--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 });

  const nodeClient = (node: TestClusterNode): Redis => {
    const client = new Redis({ port: node.port, host: '127.0.0.1', retryStrategy: () => null, maxRetriesPerRequest: 0, ...admin });
    client.on('error', () => undefined);
    closers.push(() => client.disconnect());
    return client;
  };
  const live = () => nodes.filter((node) => node.pid !== undefined);
  let creating = true;

  const cluster: TestCluster = {
    nodes,
    seeds: addresses,
    target: { cluster: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })), ...adminAccess(security) },
    client(name = 'test') {
      const client = createRedisClient(cluster.target, name);
      client.on('error', () => undefined);
      closers.push(() => disconnectRedisClient(client));
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
      const node = await startNodeProcess(root, nodes.length, options);
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

/** A client of `cluster` (named `name`) once the cluster answers it and every primary runs the function library. */
export async function libraryClient(cluster: TestCluster, name: string): Promise<Cluster> {
  const redis = cluster.client(name);
  await waitForRedis(redis, 15_000);
  await loadFunctionLibrary(redis);
  return redis;
}
