// The real node-oracledb thin driver against no database: a closed port and a server that hangs
// up both surface as SinkError(transient). Runs everywhere; needs no Oracle server.

import t from 'tap';
import { createSink } from '../../../src/sinks/create-sink.js';
import type { ResultSink } from '../../../src/sinks/result-sink.js';
import { freePort } from '../../helpers/free-port.js';
import { assertUnreachable, hangUpPort } from './sink-down.js';

function sinkAt(port: number): ResultSink {
  return createSink({
    kind: 'oracle',
    user: 'untradex',
    password: 'unused',
    connectString: `127.0.0.1:${port}/FREEPDB1`,
    tablePrefix: 'ux_',
    batchSize: 100,
    poolMax: 2,
  });
}

t.test('a closed port is a transient SinkError, for tables and for buckets alike', async (t) => {
  const sink = sinkAt(await freePort());
  t.teardown(() => sink.close());
  await assertUnreachable(t, sink, { code: 'NJS-503' });
});

t.test('a listener that hangs up at once is a transient SinkError', async (t) => {
  const sink = sinkAt(await hangUpPort(t));
  t.teardown(() => sink.close());
  await t.rejects(sink.beginBucket('E1', 0), { code: 'UX_ERR_SINK_TRANSIENT', transient: true });
});
