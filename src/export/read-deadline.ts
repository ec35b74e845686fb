// Bounds how long an export waits for one chunk from Redis: a Cluster shard that is down would
// otherwise hold the bucket (and its open sink transaction) for minutes of client-side retries.

import { RedisUnavailableError } from '../errors.js';
import { isShardOutage } from './shard-wait.js';

/**
 * Yields what `source` yields; a chunk that has not come within `waitMs`, or a read that fails the
 * way a shard outage does, ends the iteration with RedisUnavailableError (`what` names the bucket
 * and shard), which the export job retries until the shard is back. A late read is left to settle
 * on its own: the source is closed without waiting for it.
 */
export async function* withinReadDeadline<T>(source: AsyncIterable<T>, waitMs: number, what: () => string): AsyncGenerator<T, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  // Whether the source must be closed when the consumer stops early; not after it ended or failed.
  let closeSource = true;
  try {
    for (;;) {
      const next = iterator.next();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), waitMs);
      });
      let result: IteratorResult<T> | 'late';
      try {
        result = await Promise.race([next, late]);
      } catch (error) {
        closeSource = false;
        if (!isShardOutage(error)) throw error;
        throw new RedisUnavailableError(`reading ${what()} failed: ${(error as Error).message}`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
      if (result === 'late') {
        closeSource = false;
        // The read in flight settles later (when the shard answers or the client gives up): handle
        // its outcome so it is never an unhandled rejection, and close the source after it.
        next.then(
          () => iterator.return?.(),
          () => undefined,
        ).catch(() => undefined);
        throw new RedisUnavailableError(`reading ${what()} got no answer within ${waitMs} ms`);
      }
      if (result.done === true) {
        closeSource = false;
        return;
      }
      yield result.value;
    }
  } finally {
    if (closeSource) await iterator.return?.();
  }
}
