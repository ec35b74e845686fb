// The gateway port's accept queue survives the actors' own listen() calls: an exam's start spike
// opens thousands of connections at once, and Node's default backlog (511) made clients wait out
// SYN retransmits. Read from the kernel with `ss`, for one process and for several.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { GATEWAY_LISTEN_BACKLOG } from '../../../actors/connection/protocol.js';
import { startUntradexProcess } from '../../helpers/untradex.js';

/** The backlog of the socket listening on `port` (ss shows it as Send-Q of a LISTEN line). */
function listenBacklog(port: number): number {
  const out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.startsWith('LISTEN'));
  if (line === undefined) throw new Error(`nothing listens on ${port}: ${out}`);
  return Number(line.trim().split(/\s+/)[2]);
}

const expected = Math.min(GATEWAY_LISTEN_BACKLOG, Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8')));

for (const [name, gateway] of [
  ['one gateway process, two connection actors', { processes: 1, connectionActors: 2 }],
  ['two gateway processes', { processes: 2, connectionActors: 1 }],
] as const) {
  t.test(name, async (t) => {
    const ux = await startUntradexProcess(t, { gateway, writers: { count: 1 } });
    const port = Number(new URL(ux.gatewayUrl).port);
    t.equal(listenBacklog(port), expected, `the gateway port's backlog is ${expected}, not Node's default 511`);
  });
}
