// Runs function calls that must reach N replicas before they count (redis.waitReplicas): the calls
// issued together go out as one pipeline per node, each ending with one WAIT, on one connection.

import { RedisScriptError, RedisUnavailableError } from '../errors.js';
import { keySlot } from './key-slot.js';
import { isCluster, type RedisClient } from './redis-client.js';

/** One FCALL whose effect must be replicated. */
export interface ReplicatedCall {
  fn: string;
  keys: readonly string[];
  args: readonly string[];
  /** A key of the call's slot that may take the replication mark (a bucket's seq hash). */
  markKey: string;
  /** Whether the reply says the call wrote something now. */
  wrote(reply: unknown): boolean;
}

interface Pending {
  call: ReplicatedCall;
  resolve(reply: unknown): void;
  reject(error: Error): void;
}

type Pipeline = ReturnType<RedisClient['pipeline']>;
type Results = Array<[Error | null, unknown]>;

/**
 * How long one WAIT blocks its connection. Short: a timeout only means the batch is sent again
 * (its events come back Duplicate and are waited for again), and the writer logs every failed
 * batch, so a missing replica shows in the log within a second.
 */
export const WAIT_TIMEOUT_MS = 1000;
/** A bucket counter bumped only to give WAIT a write to wait for. Readers skip `!` fields. */
const REPLICATION_MARK_FIELD = '!replicated';
/** Redirections and cluster states that say "ask again", not "your call is wrong". */
const TRANSIENT_REPLY = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|READONLY|MASTERDOWN) /;

/**
 * WAIT counts the replicas that have the writes its own connection made, so it must follow the
 * calls on the very connection that carried them. A keyless WAIT sent on its own would go to a
 * random node of a Cluster; so calls are grouped by the node that serves their slot (as the
 * client's slot map says now) and each group is one pipeline: the calls, then WAIT. ioredis sends
 * a Cluster pipeline to one node on one connection. If the slot map was stale, the calls come back
 * MOVED, the group fails, and the caller sends it again after the map is refreshed.
 *
 * Calls issued in the same tick share a flush (the writer issues a whole batch's buckets in one
 * loop), so a batch costs one WAIT per node and connection, not one per bucket: each WAIT holds
 * its connection until the replicas answer, and the connection's next calls wait behind it.
 *
 * A group that wrote nothing now (every call a Duplicate of an earlier, unconfirmed attempt that
 * may have gone through another connection; or only refusals resting on a stored submit or
 * close) bumps a counter and waits for that: WAIT, as documented, covers only the connection's own
 * writes, and replication is one ordered stream per primary, so a replica that has the bump has
 * everything its primary held before. (Redis 7.0 in fact waits for the offset as of the
 * connection's last command, write or not; the bump keeps to the documented contract.)
 */
export class ReplicatedCalls {
  private queue: Pending[] = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly replicas: number,
  ) {}

  run(call: ReplicatedCall): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) queueMicrotask(() => this.flush());
      this.queue.push({ call, resolve, reject });
    });
  }

  private flush(): void {
    const pending = this.queue;
    this.queue = [];
    for (const group of this.byNode(pending).values()) void this.runGroup(group);
  }

  private byNode(pending: Pending[]): Map<string, Pending[]> {
    const groups = new Map<string, Pending[]>();
    const cluster = isCluster(this.redis) ? this.redis : null;
    for (const item of pending) {
      const node = cluster === null ? '' : (cluster.slots[keySlot(item.call.markKey)]?.[0] ?? 'unknown');
      const group = groups.get(node);
      if (group === undefined) groups.set(node, [item]);
      else group.push(item);
    }
    return groups;
  }

  private async runGroup(group: Pending[]): Promise<void> {
    try {
      const pipeline = this.redis.pipeline();
      for (const { call } of group) pipeline.fcall(call.fn, call.keys.length, ...call.keys, ...call.args);
      const results = await this.execWithWait(pipeline, group.length);
      const replies = group.map(({ call }, index) => {
        const [error, reply] = results[index]!;
        if (error !== null) throw this.classify(`FCALL ${call.fn}`, error);
        return reply;
      });
      let acked = this.waitCount(results[group.length]!);
      if (!group.some(({ call }, index) => call.wrote(replies[index]))) {
        const mark = await this.execWithWait(this.redis.pipeline().hincrby(group[0]!.call.markKey, REPLICATION_MARK_FIELD, 1), 1);
        if (mark[0]![0] !== null) throw this.classify('replication mark', mark[0]![0]);
        acked = this.waitCount(mark[1]!);
      }
      if (acked < this.replicas) {
        throw new RedisUnavailableError(`only ${acked} of ${this.replicas} replicas confirmed the write within ${WAIT_TIMEOUT_MS} ms; it will be sent again`);
      }
      group.forEach((item, index) => item.resolve(replies[index]));
    } catch (error) {
      for (const item of group) item.reject(error as Error);
    }
  }

  /** Runs `pipeline` with WAIT appended; `commands` replies come before WAIT's. */
  private async execWithWait(pipeline: Pipeline, commands: number): Promise<Results> {
    let results: Results | null;
    try {
      results = await pipeline.wait(this.replicas, WAIT_TIMEOUT_MS).exec();
    } catch (error) {
      throw new RedisUnavailableError(`pipeline with WAIT failed: ${(error as Error).message}`, { cause: error });
    }
    if (results === null || results.length !== commands + 1) throw new RedisUnavailableError('pipeline with WAIT got no replies');
    return results;
  }

  private waitCount([error, count]: [Error | null, unknown]): number {
    if (error !== null) throw this.classify('WAIT', error);
    return Number(count);
  }

  private classify(what: string, error: Error): RedisScriptError | RedisUnavailableError {
    const message = `${what} failed: ${error.message}`;
    // A single command follows MOVED by itself; a pipeline whose WAIT succeeded on the old owner
    // does not, so have the slot map refreshed before the batch is sent again.
    if (/^(MOVED|ASK) /.test(error.message) && isCluster(this.redis)) this.redis.refreshSlotsCache();
    if (error.name === 'ReplyError' && !TRANSIENT_REPLY.test(error.message)) return new RedisScriptError(message, { cause: error });
    return new RedisUnavailableError(message, { cause: error });
  }
}
