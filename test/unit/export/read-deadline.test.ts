// The export's chunk reads within a deadline: a Redis shard that does not answer, or fails the way an
// outage does, ends the bucket's read with UX_ERR_REDIS_UNAVAILABLE (retried); other errors pass as they are.

import t from 'tap';
import { RedisScriptError } from '../../../src/errors.js';
import { withinReadDeadline } from '../../../src/export/read-deadline.js';

async function* chunks(...steps: Array<number[] | 'hang' | Error>): AsyncGenerator<number[]> {
  for (const step of steps) {
    if (step === 'hang') await new Promise(() => undefined);
    else if (step instanceof Error) throw step;
    else yield step;
  }
}

async function drain(source: AsyncIterable<number[]>): Promise<number[][]> {
  const seen: number[][] = [];
  for await (const chunk of source) seen.push(chunk);
  return seen;
}

t.test('chunks that come in time pass through', async (t) => {
  t.same(await drain(withinReadDeadline(chunks([1], [2, 3]), 1000, () => 'bucket 0')), [[1], [2, 3]]);
});

t.test('a chunk that does not come within the deadline ends the read as a shard outage', async (t) => {
  const seen: number[][] = [];
  await t.rejects(
    (async () => {
      for await (const chunk of withinReadDeadline(chunks([1], 'hang'), 50, () => 'bucket 7 from Redis shard 127.0.0.1:7000')) seen.push(chunk);
    })(),
    { code: 'UX_ERR_REDIS_UNAVAILABLE', message: /bucket 7 from Redis shard 127\.0\.0\.1:7000 got no answer within 50 ms/ },
  );
  t.same(seen, [[1]], 'the chunks before it were handed on');
});

t.test('a connection error is a shard outage; a script error is not', async (t) => {
  await t.rejects(drain(withinReadDeadline(chunks(new Error('Connection is closed.')), 1000, () => 'bucket 1')), { code: 'UX_ERR_REDIS_UNAVAILABLE' });
  const moved = Object.assign(new Error('CLUSTERDOWN The cluster is down'), { name: 'ReplyError' });
  await t.rejects(drain(withinReadDeadline(chunks(moved), 1000, () => 'bucket 1')), { code: 'UX_ERR_REDIS_UNAVAILABLE' });
  const loading = new RedisScriptError('FCALL ux_close failed: LOADING Redis is loading the dataset in memory', { cause: Object.assign(new Error('LOADING Redis is loading the dataset in memory'), { name: 'ReplyError' }) });
  await t.rejects(drain(withinReadDeadline(chunks(loading), 1000, () => 'bucket 1')), { code: 'UX_ERR_REDIS_UNAVAILABLE' }, 'a node loading its AOF after a restart is an outage too');
  const script = Object.assign(new Error('ERR Error running script'), { name: 'ReplyError' });
  await t.rejects(drain(withinReadDeadline(chunks(script), 1000, () => 'bucket 1')), script);
});
