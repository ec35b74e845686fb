// Overlaps reading with writing in the export: the next chunk of a bucket is asked of Redis while
// the sink writes the current one, so Redis and the database work at the same time.

/**
 * Yields what `source` yields, with the next item already requested while the consumer handles
 * the current one. One item ahead: memory stays at two chunks. A failure of the read ahead is
 * raised when the consumer reaches it, never as an unhandled rejection; stopping early closes
 * the source.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  // The consumer may take a while before awaiting it; a rejection meanwhile is not "unhandled".
  next.catch(() => undefined);
  let finished = false;
  try {
    for (;;) {
      const result = await next;
      if (result.done === true) {
        finished = true;
        return;
      }
      next = iterator.next();
      next.catch(() => undefined);
      yield result.value;
    }
  } finally {
    if (!finished) {
      // Let the read in flight settle before closing the source: a generator cannot be returned while it runs.
      await next.catch(() => undefined);
      await iterator.return?.();
    }
  }
}
