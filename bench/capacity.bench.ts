// Capacity: how many authenticated, idle student sockets one gateway process holds, and the
// server RSS each costs, against the naive one-thread server holding the same sockets.

import './support/untapped.js';
import t from 'tap';
import { holdSockets } from './support/hold-sockets.js';
import { measured } from './support/load.js';
import { fmt, ResultWriter } from './support/results.js';
import { startBenchNaive, startBenchUntradex } from './support/servers.js';
import { envInt } from './support/sizes.js';

const SOCKETS = envInt('UX_BENCH_CAPACITY_SOCKETS', { small: 600, default: 19_000 });
/** Connections opened per second during the ramp. */
const CONNECT_RATE = envInt('UX_BENCH_CAPACITY_CONNECT_RATE', { small: 600, default: 2_000 });
const TARGET_SOCKETS = 19_000;
const TARGET_KIB_PER_SOCKET = 10;

const result = new ResultWriter('capacity', 'Capacity: idle authenticated sockets on one gateway process');
Object.assign(result.sizes, { sockets: SOCKETS, connectPerSecond: CONNECT_RATE });

const ux = await measured(t, 'untradex holds the sockets', async (t) => {
  const server = await startBenchUntradex(t, { gateway: { maxConnections: Math.max(19_500, SOCKETS + 100) } });
  return holdSockets(t, server, SOCKETS, CONNECT_RATE);
});
const naive = await measured(t, 'the naive server holds the same sockets', async (t) => holdSockets(t, await startBenchNaive(t, 'always'), SOCKETS, CONNECT_RATE));

result.add({ id: 'capacity.sockets', label: 'authenticated idle sockets held', value: ux.welcomed, unit: 'sockets', better: 'higher', baseline: { label: 'naive server', value: naive.welcomed }, note: `${ux.failed} of ${SOCKETS} not welcomed` });
result.add({ id: 'capacity.rssPerSocket', label: 'gateway process RSS per socket', value: ux.serverKiBPerSocket, unit: 'KiB', better: 'lower', baseline: { label: 'naive server', value: naive.serverKiBPerSocket } });
result.add({ id: 'capacity.redisPerSocket', label: 'Redis RSS per student session', value: ux.redisKiBPerSocket, unit: 'KiB', better: 'lower', baseline: { label: 'naive server', value: naive.redisKiBPerSocket } });
result.add({ id: 'capacity.serverRss', label: 'gateway process RSS with every socket open', value: ux.serverRssMiB, unit: 'MiB', better: 'lower', baseline: { label: 'naive server', value: naive.serverRssMiB } });
result.add({ id: 'capacity.welcomeP99', label: `p99 connect-to-welcome during a ${CONNECT_RATE}/s ramp`, value: ux.welcomeP99Ms, unit: 'ms', better: 'lower', baseline: { label: 'naive server', value: naive.welcomeP99Ms } });
result.target({
  id: 'capacity.sockets',
  text: `one gateway process holds ${TARGET_SOCKETS.toLocaleString('en-US')} authenticated sockets`,
  met: SOCKETS < TARGET_SOCKETS ? null : ux.welcomed >= TARGET_SOCKETS,
  measured: `${ux.welcomed} of ${SOCKETS} tried`,
});
result.target({
  id: 'capacity.rssPerSocket',
  text: `at most ${TARGET_KIB_PER_SOCKET} KiB of server RSS per socket`,
  met: SOCKETS < TARGET_SOCKETS ? null : ux.serverKiBPerSocket <= TARGET_KIB_PER_SOCKET,
  measured: `${fmt(ux.serverKiBPerSocket)} KiB at ${ux.welcomed} sockets`,
});
result.note('RSS per socket is (RSS with every socket welcomed and idle, the median of five readings from 2 s after the last connect) minus (the same before the first connect), over the sockets welcomed; it includes the JS garbage not yet collected.');
result.note('The load generator runs StudentClient (src/client) in several processes, each under the same 20,000 open-files limit, spread over 127.0.0.2 and up as source addresses.');

t.comment(result.table());
t.ok(ux.welcomed > 0 && naive.welcomed > 0, 'both servers welcomed students');
t.comment(`results: ${result.write()}`);
