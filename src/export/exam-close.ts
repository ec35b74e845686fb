// Closes every bucket of an exam even while a Redis Cluster shard is down: the buckets of healthy
// shards close at once, the others are tried again with backoff until their shard answers.

import type { Logger } from 'pino';
import { UntradexError } from '../errors.js';
import { bucketKeys } from '../redis/bucket-keys.js';
import type { BucketStore } from '../redis/bucket-store.js';
import { isShardOutage, shardRetryDelay, type ShardWait } from './shard-wait.js';

export class ExamClose {
  /** Buckets not closed yet, and since when each has waited. */
  private readonly open = new Map<number, number>();
  private stopped = false;
  private started = false;

  constructor(
    private readonly exam: string,
    buckets: number,
    private readonly store: BucketStore,
    private readonly log: Logger,
  ) {
    const now = Date.now();
    for (let bucket = 0; bucket < buckets; bucket += 1) this.open.set(bucket, now);
  }

  /** The buckets still open once closing began: each is one whose shard has not answered yet. */
  waits(): ShardWait[] {
    if (!this.started) return [];
    return [...this.open].map(([bucket, since]) => ({ key: bucketKeys.log(this.exam, bucket), bucket, since, step: 'close' }));
  }

  /** Stops after the attempt in flight (shutdown); run() then rejects with UX_ERR_SHUTDOWN. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Resolves once every bucket is closed. A bucket whose shard is down (connection lost, failing
   * over, replicas that do not confirm) is tried again with backoff for as long as it takes; any
   * other failure (a script error) rejects at once.
   */
  async run(): Promise<void> {
    this.started = true;
    const began = Date.now();
    for (const bucket of this.open.keys()) this.open.set(bucket, began);
    for (let attempt = 1; ; attempt += 1) {
      if (this.stopped) throw new UntradexError('UX_ERR_SHUTDOWN', `Untradex is stopping; finalize exam ${this.exam} again after the restart`);
      // One call per bucket, issued in one tick (so still one pipeline per node with waitReplicas):
      // each bucket leaves the open set as soon as its own shard answers, not when the slowest does.
      let firstOutage: UntradexError | null = null;
      let permanent: UntradexError | null = null;
      await Promise.all(
        [...this.open.keys()].map(async (bucket) => {
          const [result] = await this.store.closeBuckets(this.exam, [bucket]);
          if (result === undefined || result.ok) this.open.delete(bucket);
          else if (isShardOutage(result.error)) firstOutage ??= result.error;
          else permanent ??= result.error;
        }),
      );
      if (permanent !== null) throw permanent;
      if (this.open.size === 0) {
        if (attempt > 1) this.log.info({ exam: this.exam, attempts: attempt }, 'every bucket of the exam is closed now that its Redis shard answers again');
        return;
      }
      const delayMs = shardRetryDelay(attempt);
      // One line when the wait begins, then one every tenth attempt: an outage may last minutes.
      if (attempt === 1 || attempt % 10 === 0) {
        this.log.warn({ exam: this.exam, openBuckets: this.open.size, attempt, delayMs, err: firstOutage }, 'some buckets of the exam cannot be closed while their Redis shard is down; trying again');
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
