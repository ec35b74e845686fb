import t from 'tap';
import { readAhead } from '../../../src/export/read-ahead.js';

/** A source that logs when each item is requested and when it is handed out. */
function source(items: number, log: string[], failAt = -1): AsyncIterable<number> & { closed: boolean } {
  const result = {
    closed: false,
    async *[Symbol.asyncIterator]() {
      try {
        for (let i = 0; i < items; i++) {
          log.push(`read ${i}`);
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (i === failAt) throw new Error(`read ${i} failed`);
          yield i;
        }
      } finally {
        result.closed = true;
      }
    },
  };
  return result;
}

t.test('the next item is requested before the consumer is done with the current one', async (t) => {
  const log: string[] = [];
  const seen: number[] = [];
  for await (const item of readAhead(source(3, log))) {
    log.push(`write ${item} start`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    log.push(`write ${item} end`);
    seen.push(item);
  }
  t.same(seen, [0, 1, 2], 'every item, in order');
  t.ok(log.indexOf('read 1') < log.indexOf('write 0 end'), `read 1 overlaps write 0: ${log.join(', ')}`);
  t.ok(log.indexOf('read 2') < log.indexOf('write 1 end'), 'read 2 overlaps write 1');
});

t.test('a failed read ahead surfaces when the consumer reaches it, not as an unhandled rejection', async (t) => {
  const log: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => process.off('unhandledRejection', onUnhandled));
  const seen: number[] = [];
  await t.rejects(
    (async () => {
      for await (const item of readAhead(source(5, log, 1))) {
        // Slower than the failing read: the rejection sits unawaited meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 30));
        seen.push(item);
      }
    })(),
    { message: 'read 1 failed' },
  );
  t.same(seen, [0], 'the item before the failure was written');
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.same(unhandled, [], 'no unhandled rejection');
});

t.test('stopping early closes the source after its read in flight settles', async (t) => {
  const log: string[] = [];
  const src = source(10, log);
  for await (const item of readAhead(src)) {
    if (item === 2) break;
  }
  t.ok(src.closed, 'the source generator was closed');
  t.notOk(log.includes('read 5'), 'nothing read far beyond where the consumer stopped');
});
