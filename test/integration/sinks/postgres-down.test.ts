// PostgreSQL going away: a closed port, a server that hangs up, and a backend killed in the
// middle of a bucket all surface as SinkError(transient), and nothing half-written is visible.

import t from 'tap';
import { createSink } from '../../../src/sinks/create-sink.js';
import { freePort } from '../../helpers/free-port.js';
import { dropTables, POSTGRES_URL, readResultTables, uniquePrefix, withPgClient } from '../../helpers/postgres.js';
import { assertUnreachable, hangUpPort } from './sink-down.js';

const ROW = { examId: 'E1', studentId: 'S1', seq: 1, kind: 'open' as const, questionId: null, value: null, clientTs: null, serverTs: 1_764_400_000_123 };

t.test('a sink pointed at a closed port fails with a transient SinkError', async (t) => {
  const port = await freePort();
  const sink = createSink({ kind: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/test`, tablePrefix: 'ux_' });
  t.teardown(() => sink.close());
  await assertUnreachable(t, sink);
});

t.test('a server that hangs up at once fails with a transient SinkError', async (t) => {
  const port = await hangUpPort(t);
  const sink = createSink({ kind: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/test`, tablePrefix: 'ux_' });
  t.teardown(() => sink.close());
  await t.rejects(sink.beginBucket('E1', 0), { code: 'UX_ERR_SINK_TRANSIENT', transient: true });
});

t.test('a backend killed mid-bucket fails the bucket transiently; the sink recovers', async (t) => {
  const prefix = uniquePrefix('k');
  t.teardown(() => dropTables(prefix));
  const appName = `untradex_${prefix}`;
  const sink = createSink({ kind: 'postgres', url: `${POSTGRES_URL}?application_name=${appName}`, tablePrefix: prefix });
  t.teardown(() => sink.close());
  await sink.ensureTables();

  const write = await sink.beginBucket('E1', 0);
  await write.addEvents([ROW]);
  const killed = await withPgClient(async (c) => {
    const r = await c.query<{ n: string }>(
      'SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [appName],
    );
    return Number(r.rows[0]?.n);
  });
  t.ok(killed >= 1, `terminated ${killed} backend(s) of the sink`);
  await t.rejects(write.addEvents([{ ...ROW, seq: 2 }]), { code: 'UX_ERR_SINK_TRANSIENT', transient: true });
  await t.rejects(write.commit(), { code: 'UX_ERR_SINK_TRANSIENT' }, 'the failure sticks to the write');
  t.same((await readResultTables(prefix)).events, [], 'nothing of the killed bucket is visible');

  const again = await sink.beginBucket('E1', 0);
  await again.addEvents([ROW]);
  t.same(await again.commit(), { rows: 1 }, 'the same sink exports the bucket on a fresh connection');
  t.equal((await readResultTables(prefix)).events.length, 1);
});
