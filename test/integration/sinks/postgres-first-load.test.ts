// A bucket's first export COPYs straight into the final tables (`insert`); a bucket that is
// already there (committed before a crash lost its done mark, or by a second exporter) is refused
// with SinkKeyConflictError, none of that attempt is kept, and `upsert` then leaves the same rows.

import t, { type Test } from 'tap';
import { SinkKeyConflictError } from '../../../src/errors.js';
import { createSink } from '../../../src/sinks/create-sink.js';
import type { ResultSink } from '../../../src/sinks/result-sink.js';
import { dropTables, POSTGRES_URL, readResultTables, uniquePrefix } from '../../helpers/postgres.js';
import { diffTables, expectedTables, generateBuckets, lastAnswersOnly, totalRows, writeBucket, type BucketData } from './sink-data.js';

const CHUNK_ROWS = 100;
const prefix = uniquePrefix('f');
t.teardown(() => dropTables(prefix));

const sinks: ResultSink[] = [];
const makeSink = (): ResultSink => {
  const sink = createSink({ kind: 'postgres', url: POSTGRES_URL, tablePrefix: prefix });
  sinks.push(sink);
  return sink;
};
t.teardown(async () => {
  for (const sink of sinks) await sink.close();
});

// As Redis holds them: one row per key in each bucket, several chunks per bucket.
const data = generateBuckets({ seed: 20_261_213, exam: 'FIRST-LOAD', students: 600, buckets: 4 }).map(lastAnswersOnly);
const [b0, b1, b2, b3] = data as [BucketData, BucketData, BucketData, BucketData];
const tablesHold = async (tt: Test, buckets: readonly BucketData[], what: string): Promise<void> => {
  tt.same(diffTables(await readResultTables(prefix), expectedTables(buckets, 'empty')), [], what);
};

const sink = makeSink();

t.test('a new bucket goes straight into the tables; the same bucket again is refused whole', async (tt) => {
  await sink.ensureTables();
  tt.ok(b0.events.length > 3 * CHUNK_ROWS, 'the bucket takes several chunks');
  const first = await writeBucket(sink, b0, CHUNK_ROWS, { load: 'insert' });
  tt.equal(first.rows, totalRows(b0), 'commit counts every row');
  await tablesHold(tt, [b0], 'exactly the bucket, one row per key');

  const again = await sink.beginBucket(b0.exam, b0.bucket, { load: 'insert' });
  const refused = await again.addEvents(b0.events.slice(0, CHUNK_ROWS)).then(
    () => null,
    (error: unknown) => error,
  );
  tt.ok(refused instanceof SinkKeyConflictError, 'a key already there: SinkKeyConflictError');
  tt.match(refused, { code: 'UX_ERR_SINK_PERMANENT', transient: false, message: /loaded before/ });
  await tt.rejects(again.commit(), { code: 'UX_ERR_SINK_PERMANENT' }, 'the refused write cannot commit');
  await tt.resolves(again.rollback(), 'and is already rolled back');
  await tablesHold(tt, [b0], 'nothing changed');

  const rerun = await writeBucket(sink, b0, CHUNK_ROWS, { load: 'upsert' });
  tt.equal(rerun.rows, totalRows(b0));
  await tablesHold(tt, [b0], 'the upsert rerun leaves the same rows');
});

t.test('a conflict in a later chunk throws away the chunks before it too', async (tt) => {
  // An upsert committed the second half of b1's events only; then the whole bucket comes as new.
  const half = Math.floor(b1.events.length / 2);
  await writeBucket(sink, { ...b1, events: b1.events.slice(half), answers: [], submissions: [] }, CHUNK_ROWS, { load: 'upsert' });
  const write = await sink.beginBucket(b1.exam, b1.bucket, { load: 'insert' });
  let chunksTaken = 0;
  let refused: unknown = null;
  for (let at = 0; at < b1.events.length && refused === null; at += CHUNK_ROWS) {
    refused = await write.addEvents(b1.events.slice(at, at + CHUNK_ROWS)).then(
      () => null,
      (error: unknown) => error,
    );
    if (refused === null) chunksTaken += 1;
  }
  tt.ok(chunksTaken >= 1, `${chunksTaken} chunk(s) went in before the conflict`);
  tt.ok(refused instanceof SinkKeyConflictError, 'then SinkKeyConflictError');
  const tables = await readResultTables(prefix);
  tt.equal(tables.events.filter((r) => r.examId === b1.exam).length, b0.events.length + b1.events.length - half, 'the chunks taken before the conflict were rolled back with it');
  await writeBucket(sink, b1, CHUNK_ROWS, { load: 'upsert' });
  await tablesHold(tt, [b0, b1], 'upsert completes the bucket');
});

t.test('an insert rolled back halfway, or abandoned by close, leaves nothing; the bucket then goes in new', async (tt) => {
  const write = await sink.beginBucket(b2.exam, b2.bucket, { load: 'insert' });
  await write.addEvents(b2.events.slice(0, CHUNK_ROWS));
  await write.rollback();
  const doomed = makeSink();
  const abandoned = await doomed.beginBucket(b2.exam, b2.bucket, { load: 'insert' });
  await abandoned.addEvents(b2.events);
  await abandoned.addAnswers(b2.answers);
  await doomed.close();
  await tablesHold(tt, [b0, b1], 'nothing of either attempt is visible');
  await writeBucket(sink, b2, CHUNK_ROWS, { load: 'insert' });
  await tablesHold(tt, [b0, b1, b2], 'the bucket is still new: insert takes it');
});

t.test('two exporters insert one bucket at once: one commits it, the other is refused and upserts', async (tt) => {
  const other = makeSink();
  const outcomes = await Promise.allSettled([writeBucket(sink, b3, CHUNK_ROWS, { load: 'insert' }), writeBucket(other, b3, CHUNK_ROWS, { load: 'insert' })]);
  const committed = outcomes.filter((o) => o.status === 'fulfilled');
  const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  tt.equal(committed.length, 1, 'one insert committed');
  tt.equal(refused.length, 1, 'the other waited on its keys, then was refused');
  tt.ok(refused[0]?.reason instanceof SinkKeyConflictError, 'with SinkKeyConflictError');
  await writeBucket(other, b3, CHUNK_ROWS, { load: 'upsert' });
  await tablesHold(tt, data, 'every bucket exactly once');
});

t.test('a sink without a faster path takes load: insert as an upsert', async (tt) => {
  const sqlite = createSink({ kind: 'sqlite', path: ':memory:', tablePrefix: prefix });
  t.teardown(() => sqlite.close());
  await sqlite.ensureTables();
  await writeBucket(sqlite, b0, CHUNK_ROWS, { load: 'insert' });
  const rerun = await writeBucket(sqlite, b0, CHUNK_ROWS, { load: 'insert' });
  tt.equal(rerun.rows, totalRows(b0), 'the same bucket twice is no conflict there');
});
