// How a writer's batch is split into ux_write_many calls: as few as its size allows (one per 512
// events), never more than the connections, a bucket never split, every group in exactly one call.
import t from 'tap';
import { EVENTS_PER_CALL, splitIntoCalls } from '../../../actors/redis-writer/batch-groups.js';

const groups = (...sizes: number[]) => sizes.map((size) => ({ events: new Array<number>(size).fill(0) }));
const sizesOf = (calls: number[][], input: { events: unknown[] }[]) => calls.map((call) => call.reduce((sum, index) => sum + input[index]!.events.length, 0));

t.test('a moderate batch is one call, whatever the number of buckets', async (t) => {
  const input = groups(...new Array<number>(60).fill(1));
  t.same(splitIntoCalls(input, 4), [input.map((_, index) => index)]);
  t.same(splitIntoCalls([], 4), [[]], 'an empty batch: one empty call');
});

t.test('a full batch is spread over the connections in calls of about the same size, in order', async (t) => {
  const input = groups(...new Array<number>(64).fill(32));
  const calls = splitIntoCalls(input, 4);
  t.equal(calls.length, 4);
  t.same(sizesOf(calls, input), [512, 512, 512, 512]);
  t.same(calls.flat(), input.map((_, index) => index), 'every group once, in order');
  t.equal(splitIntoCalls(input, 2).length, 2, 'never more calls than connections');
  t.equal(splitIntoCalls(groups(EVENTS_PER_CALL + 1), 4).length, 1, 'a bucket is never split');
});
