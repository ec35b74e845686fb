// The export's read ahead: the next chunk is asked for while the consumer handles the current one; a failed
// read surfaces where the consumer reaches it; stopping early closes the source. Reads finish when the test says, not on timers.

import t from 'tap';
import { readAhead } from '../../../src/export/read-ahead.js';

/** A source whose read i is pending until the test releases it (or fails it), so the order of events is the test's. */
class GatedSource implements AsyncIterable<number> {
  /** The reads asked for so far, in order. */
  readonly requested: number[] = [];
  closed = false;
  readonly #gates = new Map<number, { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void }>();

  constructor(private readonly items: number) {}

  release(i: number): void {
    this.#gate(i).resolve();
  }

  fail(i: number): void {
    this.#gate(i).reject(new Error(`read ${i} failed`));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<number> {
    try {
      for (let i = 0; i < this.items; i++) {
        this.requested.push(i);
        await this.#gate(i).promise;
        yield i;
      }
    } finally {
      this.closed = true;
    }
  }

  #gate(i: number): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
    let gate = this.#gates.get(i);
    if (gate === undefined) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      gate = { promise, resolve, reject };
      this.#gates.set(i, gate);
    }
    return gate;
  }
}

/** One full turn of the event loop: every settled promise has run its handlers, and unhandled rejections are reported. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('the next item is requested before the consumer is done with the current one', async (t) => {
  const source = new GatedSource(3);
  const items = readAhead(source);
  const first = items.next();
  source.release(0);
  t.same(await first, { value: 0, done: false });
  t.same(source.requested, [0, 1], 'read 1 is under way while the consumer still holds item 0');
  await turn();
  t.same(source.requested, [0, 1], 'and only one item ahead');
  source.release(1);
  t.same(await items.next(), { value: 1, done: false });
  t.same(source.requested, [0, 1, 2], 'read 2 overlaps item 1');
  source.release(2);
  t.same(await items.next(), { value: 2, done: false });
  t.same(await items.next(), { value: undefined, done: true }, 'every item, in order, then done');
  t.ok(source.closed);
});

t.test('a failed read ahead surfaces when the consumer reaches it, not as an unhandled rejection', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => process.off('unhandledRejection', onUnhandled));
  const source = new GatedSource(5);
  const items = readAhead(source);
  const first = items.next();
  source.release(0);
  t.same(await first, { value: 0, done: false });
  source.fail(1); // while the consumer still holds item 0: nobody awaits read 1 yet
  await turn();
  await turn();
  t.same(unhandled, [], 'no unhandled rejection while the consumer is busy');
  await t.rejects(items.next(), { message: 'read 1 failed' }, 'the failure reaches the consumer at item 1');
  await turn();
  t.same(unhandled, [], 'nor after');
  t.same(source.requested, [0, 1], 'nothing read past the failure');
});

t.test('stopping early closes the source after its read in flight settles', async (t) => {
  const source = new GatedSource(10);
  const items = readAhead(source);
  for (const i of [0, 1, 2]) {
    const next = items.next();
    source.release(i);
    t.same(await next, { value: i, done: false });
  }
  t.same(source.requested, [0, 1, 2, 3], 'read 3 is in flight');
  let returned = false;
  const stopping = items.return(undefined).then(() => {
    returned = true;
  });
  await turn();
  t.notOk(returned, 'the consumer stopped, but read 3 has not settled: the source is not closed under it');
  t.notOk(source.closed);
  source.release(3);
  await stopping;
  t.ok(source.closed, 'the source generator was closed');
  t.same(source.requested, [0, 1, 2, 3], 'nothing read beyond the read in flight');
});

t.test('a source that is not a generator is not asked to close while its read is in flight', async (t) => {
  let pending: (() => void) | null = null;
  const calls: string[] = [];
  const source: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        calls.push('next');
        return new Promise<IteratorResult<number>>((resolve) => {
          pending = () => resolve({ value: calls.length, done: false });
        });
      },
      return: () => {
        calls.push(pending === null ? 'return' : 'return while reading');
        return Promise.resolve({ value: undefined, done: true });
      },
    }),
  };
  const items = readAhead(source);
  const first = items.next();
  const settle = (): void => {
    const resolve = pending!;
    pending = null;
    resolve();
  };
  settle();
  await first;
  const stopping = items.return(undefined);
  await turn();
  t.same(calls, ['next', 'next'], 'the read ahead is in flight; no return yet');
  settle();
  await stopping;
  t.same(calls, ['next', 'next', 'return'], 'closed once the read settled');
});
