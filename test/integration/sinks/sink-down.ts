// A result database that is not there, for every sink's "database down" tests: a closed port, or a
// listener that hangs up at once; either way the sink must answer with a transient SinkError.

import { createServer } from 'node:net';
import type { Test } from 'tap';
import { SinkError } from '../../../src/errors.js';
import type { ResultSink } from '../../../src/sinks/result-sink.js';

/** A port on 127.0.0.1 that accepts and at once hangs up every connection; closed at teardown. */
export async function hangUpPort(t: Test): Promise<number> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** Tables and buckets alike are refused with a transient SinkError (`cause`: what it must carry). */
export async function assertUnreachable(t: Test, sink: ResultSink, cause?: object): Promise<void> {
  const failure = await sink.ensureTables().then(
    () => undefined,
    (err: unknown) => err,
  );
  t.ok(failure instanceof SinkError, 'a SinkError');
  t.match(failure, { code: 'UX_ERR_SINK_TRANSIENT', transient: true, ...(cause === undefined ? {} : { cause }) });
  await t.rejects(sink.beginBucket('E1', 0), { code: 'UX_ERR_SINK_TRANSIENT', transient: true });
}
