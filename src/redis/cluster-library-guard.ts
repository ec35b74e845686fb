// Keeps the function library on every primary of a Redis Cluster as the topology changes: a node
// that becomes a primary (a new shard, or a replica whose copy was lost) is checked, and loaded if needed.

import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { fetchLibraryVersion, LIBRARY_VERSION, loadOnNode } from './function-library.js';

/**
 * A promoted replica normally has the library already: FUNCTION LOAD is replicated to replicas
 * in Redis 7 and a full resync carries it in the RDB (test/cluster/failover.test.ts checks this).
 * A node that joined empty and took slots by resharding has not, and every FCALL routed to it
 * would fail. So each time the client refreshes its slot map (every slotsRefreshInterval, and
 * after MOVED or a lost node) every primary not yet seen is asked for ux_version, and given the
 * library when it lacks it. Asking costs one FCALL_RO per new primary, not per refresh.
 */
export class ClusterLibraryGuard {
  /** Primaries (host:port) known to run this library version. */
  private readonly verified = new Set<string>();
  private checking: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly onRefresh = (): void => this.check();

  constructor(
    private readonly cluster: Cluster,
    private readonly log: Logger,
  ) {}

  /** Checks the primaries known now (one FCALL_RO each) and then every one that appears. */
  start(): void {
    this.cluster.on('refresh', this.onRefresh);
    this.cluster.on('+node', this.onRefresh);
    this.check();
  }

  stop(): void {
    this.stopped = true;
    this.cluster.off('refresh', this.onRefresh);
    this.cluster.off('+node', this.onRefresh);
  }

  /** Resolves once every primary the client knows now has been checked (tests use it). */
  async settled(): Promise<void> {
    while (this.checking !== null) await this.checking;
  }

  private check(): void {
    if (this.stopped) return;
    if (this.checking !== null) {
      this.again = true;
      return;
    }
    this.checking = this.checkPrimaries().finally(() => {
      this.checking = null;
      if (this.again) {
        this.again = false;
        this.check();
      }
    });
  }

  private async checkPrimaries(): Promise<void> {
    const primaries = this.cluster.nodes('master');
    const current = new Set(primaries.map(keyOf));
    // A node that stopped being a primary must be checked again if it is promoted later: its
    // library may have been replaced while it followed another primary.
    for (const key of this.verified) if (!current.has(key)) this.verified.delete(key);
    await Promise.all(
      primaries.filter((node) => !this.verified.has(keyOf(node))).map(async (node) => {
        const key = keyOf(node);
        try {
          const version = await fetchLibraryVersion(node);
          if (version !== LIBRARY_VERSION) {
            this.log.info({ node: key, found: version }, 'loading the function library on a new Redis Cluster primary');
            await loadOnNode(node);
          }
          this.verified.add(key);
        } catch (error) {
          // Left unverified: the next refresh (at most slotsRefreshInterval away) tries again.
          this.log.warn({ node: key, err: error }, 'cannot check the function library on a Redis Cluster primary yet');
        }
      }),
    );
  }
}

function keyOf(node: Redis): string {
  return `${node.options.host ?? ''}:${node.options.port ?? ''}`;
}
