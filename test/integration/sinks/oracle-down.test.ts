// The real node-oracledb thin driver against no database: a closed port and a server that hangs
// up both surface as SinkError(transient). Runs everywhere; needs no Oracle server.

import { createServer } from 'node:net';
import t from 'tap';
import { SinkError } from '../../../src/errors.js';
import { createSink } from '../../../src/sinks/create-sink.js';
import type { ResultSink } from '../../../src/sinks/result-sink.js';
import { freePort } from '../../helpers/free-port.js';

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
  const failure = await sink.ensureTables().then(
    () => undefined,
    (err: unknown) => err,
  );
  t.ok(failure instanceof SinkError);
  t.match(failure, { code: 'UX_ERR_SINK_TRANSIENT', transient: true, cause: { code: 'NJS-503' } });
  await t.rejects(sink.beginBucket('E1', 0), { code: 'UX_ERR_SINK_TRANSIENT', transient: true });
});

t.test('a listener that hangs up at once is a transient SinkError', async (t) => {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const sink = sinkAt(typeof address === 'object' && address !== null ? address.port : 0);
  t.teardown(() => sink.close());
  await t.rejects(sink.beginBucket('E1', 0), { code: 'UX_ERR_SINK_TRANSIENT', transient: true });
});
