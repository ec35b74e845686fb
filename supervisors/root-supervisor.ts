// The root of the actor tree (main thread): its children by role (dataDir lock, disk watcher, Redis,
// the writer and gateway subtrees); owns the rings; orders start, graceful drain and stop.

import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { UntradexConfig } from '../src/config/schema.js';
import { RedisUnavailableError, UntradexError } from '../src/errors.js';
import { DataDirLock } from './data-dir-lock.js';
import { DiskWatcher } from './disk-watcher.js';
import { BucketStore } from '../src/redis/bucket-store.js';
import { EmbeddedRedis } from '../src/redis/embedded-redis.js';
import { loadFunctionLibrary } from '../src/redis/function-library.js';
import { logConnectionHealth } from '../src/redis/connection-log.js';
import { ClusterLibraryGuard } from '../src/redis/cluster-library-guard.js';
import { checkRedisAccess } from '../src/redis/access-check.js';
import { ShardHealthWatch, type ShardHealth } from '../src/redis/shard-health.js';
import { assertDurable, readDurability, type NodeDurability } from '../src/redis/durability-check.js';
import { createRedisClient, disconnectRedisClient, isCluster, redisTargetFromConfig, waitForRedis, type RedisClient, type RedisTarget } from '../src/redis/redis-client.js';
import { createGatewaySupervisor, type ConnectionActor } from './gateway-supervisor.js';
import { openListenSocket, type ListenSocket } from './listen-socket.js';
import { createRingTopology, type RingTopology } from './ring-topology.js';
import { restartDelay, supervisorFlags } from './restart-intensity.js';
import type { ChildHandle, ChildReport } from './supervisor-spec.js';
import { DRAIN_TIMEOUT_MS, LOST_WRITER_FINISH_MS, REDIS_SHUTDOWN_MS, STOP_STEP_MS } from '../src/stop-timeouts.js';
import { Supervisor } from './supervisor.js';
import { createWriterSupervisor, type WriterActor } from './writer-supervisor.js';

export type RootState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

/**
 * standalone: one process does everything. primary: Redis and the control plane of several
 * gateway processes (gateway.processes > 1), no student sockets. gateway: one of those processes:
 * rings, writers and connection actors on the primary's Redis and a share of its port.
 */
export type RootRole = 'standalone' | 'primary' | 'gateway';

/** The parts a root starts, each a step of its start and undone by stopTrees. */
type RootChild = 'data-dir-lock' | 'disk-watcher' | 'redis' | 'admin-redis' | 'shard-watch' | 'writers' | 'gateway';

/**
 * The root's children by role, in start order. A gateway process runs under its primary's dataDir
 * lock, Redis and shard watch (one watcher per deployment: a gateway process's status and log would
 * only repeat its primary's); a primary holds no rings' actors and no student sockets. The embedded
 * Redis starts only with redis.embedded, the shard watch only on a Cluster.
 */
const ROOT_CHILDREN: Record<RootRole, readonly RootChild[]> = {
  standalone: ['data-dir-lock', 'disk-watcher', 'redis', 'admin-redis', 'shard-watch', 'writers', 'gateway'],
  primary: ['data-dir-lock', 'disk-watcher', 'redis', 'admin-redis', 'shard-watch'],
  gateway: ['disk-watcher', 'admin-redis', 'writers', 'gateway'],
};

export interface RootOptions {
  role?: RootRole;
  /** A gateway process's share of the port, handed over by the primary. */
  listenSocket?: ListenSocket;
}

export interface RootEvents {
  /** A subtree gave up past its restart intensity, or the dataDir lock was lost: exit non-zero. */
  fatal: [error: UntradexError];
}

export class RootSupervisor extends EventEmitter<RootEvents> {
  state: RootState = 'starting';
  readonly topology: RingTopology;
  private redisSupervisor: Supervisor<EmbeddedRedis> | null = null;
  private writers: Supervisor<WriterActor> | null = null;
  private gateway: Supervisor<ConnectionActor> | null = null;
  private listenSocket: ListenSocket | null = null;
  private adminRedis: RedisClient | null = null;
  private libraryGuard: ClusterLibraryGuard | null = null;
  private shardWatch: ShardHealthWatch | null = null;
  private storeInstance: BucketStore | null = null;
  private durabilityReport: NodeDurability[] = [];
  private dataDirLock: DataDirLock | null = null;
  /** Rule S3: every root watches dataDir's disk; a gateway process's writers obey its own watcher. */
  private diskWatcherInstance: DiskWatcher | null = null;
  readonly redisTarget: RedisTarget;
  readonly role: RootRole;
  private readonly ownsListenSocket: boolean;

  constructor(
    readonly config: UntradexConfig,
    private readonly log: Logger,
    options: RootOptions = {},
  ) {
    super();
    this.role = options.role ?? 'standalone';
    this.listenSocket = options.listenSocket ?? null;
    this.ownsListenSocket = options.listenSocket === undefined;
    const { gateway, writers, redis } = config;
    this.topology = createRingTopology(gateway.connectionActors, writers.count, gateway.ringBytes, gateway.ackRingBytes);
    this.redisTarget = redisTargetFromConfig(redis);
  }

  /** The main thread's own Redis access (control API, readiness). */
  get store(): BucketStore {
    if (this.storeInstance === null) throw new RedisUnavailableError('Untradex has not started yet');
    return this.storeInstance;
  }

  get redis(): RedisClient {
    if (this.adminRedis === null) throw new RedisUnavailableError('Untradex has not started yet');
    return this.adminRedis;
  }

  /** The student port actually bound (useful when gateway.port is 0). */
  get gatewayPort(): number {
    return this.listenSocket?.port ?? this.config.gateway.port;
  }

  /** For fault tests and status: the live actor handles. */
  get connectionActors(): ConnectionActor[] {
    return this.gateway?.handles() ?? [];
  }

  get writerActors(): WriterActor[] {
    return this.writers?.handles() ?? [];
  }

  get diskWatcher(): DiskWatcher | null {
    return this.diskWatcherInstance;
  }

  get embeddedRedis(): EmbeddedRedis | null {
    return this.redisSupervisor?.handles()[0] ?? null;
  }

  async start(): Promise<void> {
    try {
      for (const child of ROOT_CHILDREN[this.role]) await this.startChild(child);
      this.state = 'running';
      if (this.role !== 'primary') {
        const { config } = this;
        this.log.info({ gatewayPort: this.gatewayPort, connectionActors: config.gateway.connectionActors, writers: config.writers.count }, 'untradex is running');
      }
    } catch (error) {
      this.state = 'failed';
      await this.stopTrees();
      throw error;
    }
  }

  private async startChild(child: RootChild): Promise<void> {
    switch (child) {
      case 'data-dir-lock':
        return this.lockDataDir();
      case 'disk-watcher':
        this.diskWatcherInstance = new DiskWatcher(this.config.dataDir, this.config.storage.minFreeBytes, this.log);
        return this.diskWatcherInstance.start();
      case 'redis':
        return this.startEmbeddedRedis();
      case 'admin-redis':
        return this.connectAdminRedis();
      case 'shard-watch':
        return this.startShardWatch();
      case 'writers':
        this.writers = createWriterSupervisor(this.config, this.topology, this.redisTarget, this.log, this.diskWatcherInstance?.gate);
        this.watch(this.writers);
        return this.writers.start();
      case 'gateway':
        this.listenSocket ??= await openListenSocket(this.config.gateway.host, this.config.gateway.port);
        this.gateway = createGatewaySupervisor(this.config, this.topology, this.listenSocket, this.redisTarget, this.log, this.diskWatcherInstance?.gate);
        this.watch(this.gateway);
        return this.gateway.start();
      default: {
        const unknown: never = child;
        throw new Error(`unknown root child ${String(unknown)}`);
      }
    }
  }

  /** Rule S2, before anything touches the files. */
  private async lockDataDir(): Promise<void> {
    const { config, log } = this;
    this.dataDirLock = await DataDirLock.acquire(config.dataDir, (error) => {
      const lost = new UntradexError('UX_ERR_DATA_DIR_LOCKED', `the lock on dataDir ${config.dataDir} was taken from this server (${error.message}); stopping`, { cause: error });
      this.log.fatal({ code: lost.code, err: error }, lost.message);
      this.emit('fatal', lost);
    });
    const { tookOverFrom } = this.dataDirLock;
    if (tookOverFrom !== null) log.warn({ dataDir: config.dataDir, ...tookOverFrom }, 'took over the dataDir lock of a server that died without stopping (pid above)');
  }

  private async startEmbeddedRedis(): Promise<void> {
    const { config, log } = this;
    if (!config.redis.embedded) return;
    this.redisSupervisor = new Supervisor<EmbeddedRedis>('redis', supervisorFlags('redis', config.supervision), [
      {
        id: 'redis-server',
        restart: 'permanent',
        shutdownMs: REDIS_SHUTDOWN_MS,
        restartDelayMs: restartDelay('redis'),
        start: async () => {
          // Itself a child handle: its redis-server runs on the shared child lifecycle, an unasked exit is a crash.
          const server = new EmbeddedRedis({
            log,
            serverPath: config.redis.serverPath,
            port: config.redis.port,
            dataDir: config.dataDir,
            appendfsync: config.redis.appendfsync,
            ...(config.redis.embeddedPassword === null ? {} : { password: config.redis.embeddedPassword }),
          });
          await server.start();
          return server;
        },
      },
    ], log);
    this.watch(this.redisSupervisor);
    this.redisSupervisor.on('started', (_id, _handle, incarnation) => {
      // Functions are kept in the AOF, but loading them again after a restart costs nothing
      // and covers a server whose files were lost.
      if (incarnation > 1 && this.adminRedis !== null) {
        loadFunctionLibrary(this.adminRedis).catch((error: unknown) => this.log.error({ err: error }, 'reloading the function library failed'));
      }
    });
    await this.redisSupervisor.start();
  }

  /** The main thread's own connection: access check, function library, durability, the bucket store. */
  private async connectAdminRedis(): Promise<void> {
    const { config, log } = this;
    // A wrong password or an untrusted certificate stops the start here, naming the key to fix;
    // the clients below would only retry it for ever. (The embedded Redis is Untradex's own.)
    if (!config.redis.embedded) await checkRedisAccess(this.redisTarget);
    this.adminRedis = logConnectionHealth(createRedisClient(this.redisTarget, 'untradex:root'), 'untradex:root', log);
    await waitForRedis(this.adminRedis, 15_000);
    await loadFunctionLibrary(this.adminRedis);
    await this.checkDurability();
    if (isCluster(this.adminRedis)) {
      // New primaries (resharding, a replica promoted after a failover) get the library too.
      this.libraryGuard = new ClusterLibraryGuard(this.adminRedis, log);
      this.libraryGuard.start();
    }
    this.storeInstance = new BucketStore(this.adminRedis, config.redis.buckets, { waitReplicas: config.redis.waitReplicas });
  }

  private async startShardWatch(): Promise<void> {
    const redis = this.redis;
    if (!isCluster(redis)) return;
    this.shardWatch = new ShardHealthWatch(redis, this.config.redis.waitReplicas, this.log);
    await this.shardWatch.start();
  }

  /**
   * Graceful stop (SIGTERM): stop accepting and reading, let the writers put everything in the
   * rings into Redis, send the last acks, then stop the actors and Redis in reverse order.
   */
  async shutdown(options: { beforeRedisStops?: Promise<unknown> } = {}): Promise<void> {
    if (this.state === 'stopped' || this.state === 'draining') return;
    this.state = 'draining';
    const connections = this.connectionActors;
    const writers = this.writerActors;
    // A writer that is gone (its supervisor gave up, or it is between incarnations) will answer
    // nothing before exit: waiting the whole drain timeout for its events would only stall the exit.
    const lostWriters = Array.from({ length: this.topology.writers }, (_, index) => `writer-${index}`).filter((id) => !writers.some((writer) => writer.id === id));
    // An embedded Redis whose supervisor gave up takes nothing more: draining into it would only
    // hold the exit back for the whole drain time (rule S4 wants the process gone, non-zero, soon).
    // The same when the disk is full: the writers take nothing from the rings until space returns.
    const redisGone = (this.redisSupervisor !== null && !this.redisSupervisor.allRunning()) || this.diskWatcherInstance?.open === false;
    const drainMs = redisGone ? LOST_WRITER_FINISH_MS : DRAIN_TIMEOUT_MS;
    try {
      await Promise.all(connections.map((actor) => actor.api.quiesce()));
      const drained = await Promise.all(writers.map((writer) => writer.api.drain(drainMs)));
      if (drained.includes(false)) this.log.warn({ redisGone }, 'writers did not drain every ring in time; unacked events will be resent by clients');
      if (lostWriters.length > 0) this.log.warn({ lostWriters }, 'events routed to writers that are gone stay unacked; their students resend them after a restart');
      // The live writers have posted every answer by now; handing those out takes moments.
      await Promise.all(connections.map((actor) => actor.api.finish(lostWriters.length > 0 || redisGone ? LOST_WRITER_FINISH_MS : DRAIN_TIMEOUT_MS)));
    } catch (error) {
      this.log.error({ err: error }, 'graceful drain failed; stopping anyway');
    }
    await this.stopTrees(options.beforeRedisStops);
    this.state = 'stopped';
  }

  /** Everything the control API's status and readiness need, from every actor. */
  async report(): Promise<{ children: ChildReport[]; writers: WriterActor[]; connections: ConnectionActor[] }> {
    const children = [
      ...(this.redisSupervisor?.report() ?? []),
      ...(this.writers?.report() ?? []),
      ...(this.gateway?.report() ?? []),
    ];
    return { children, writers: this.writerActors, connections: this.connectionActors };
  }

  /** Each Redis Cluster shard as last checked (issue 17); null on one Redis or in a gateway process. */
  get shards(): readonly ShardHealth[] | null {
    return this.shardWatch?.shards ?? null;
  }

  /** What every Redis server reported of its persistence settings at start or last reconnect. */
  get durability(): readonly NodeDurability[] {
    return this.durabilityReport;
  }

  /**
   * Refuses a Redis whose settings would make an ack promise more than it keeps (issue 10 item 3),
   * and reads them again after every reconnect: a server restarted with another configuration
   * then shows in /readyz and the log instead of going unnoticed.
   */
  private async checkDurability(): Promise<void> {
    const { config, log } = this;
    const redis = this.redis;
    if (!config.redis.checkDurability) {
      log.warn('redis.checkDurability is off: Untradex trusts that Redis keeps acked answers as redis.appendfsync promises');
      this.durabilityReport = await readDurability(redis, config.redis.appendfsync).catch(() => []);
      return;
    }
    this.durabilityReport = await assertDurable(redis, config.redis.appendfsync);
    // The client is ready already: every 'ready' from here on is a reconnect.
    redis.on('ready', () => {
      readDurability(redis, config.redis.appendfsync).then(
        (report) => {
          this.durabilityReport = report;
          for (const node of report) if (node.problem !== null) log.error({ code: 'UX_ERR_REDIS_DURABILITY', node: node.node }, node.problem);
        },
        (error: unknown) => log.warn({ err: error }, 'could not read the Redis persistence settings after a reconnect'),
      );
    });
  }

  allActorsRunning(): boolean {
    return [this.redisSupervisor, this.writers, this.gateway].every((tree) => tree === null || tree.allRunning());
  }

  private watch(tree: Supervisor<ChildHandle>): void {
    tree.on('escalate', (error) => {
      this.state = 'failed';
      this.log.fatal({ code: error.code, actor: error.actorId, err: error }, error.message);
      this.emit('fatal', error);
    });
  }

  private async stopTrees(beforeRedisStops: Promise<unknown> = Promise.resolve()): Promise<void> {
    // The actors were drained above: both trees stop at once, each actor within its own bound.
    await Promise.all([this.gateway?.stop(), this.writers?.stop()]);
    if (this.ownsListenSocket) await this.listenSocket?.close();
    this.libraryGuard?.stop();
    this.shardWatch?.stop();
    await beforeRedisStops;
    const admin = this.adminRedis;
    // QUIT waits for a reply, which a Redis that is gone never sends (ioredis would queue it forever);
    // and a QUIT that failed on one Cluster node leaves the client reconnecting to it. disconnect()
    // after QUIT ends both, and is harmless once QUIT went through.
    if (admin !== null) {
      await settlesWithin(admin.quit(), STOP_STEP_MS);
      disconnectRedisClient(admin);
    }
    await this.redisSupervisor?.stop();
    this.diskWatcherInstance?.stop();
    await this.dataDirLock?.unlock();
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<'settled' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, ms, 'timeout')));
  try {
    return await Promise.race([promise.then(() => 'settled' as const, () => 'settled' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
