// Scale-out capacity (issue 6): 100,000 authenticated, idle student sockets through several gateway
// processes on one box, and server RSS per socket, against one gateway process measured in the same run.

import './support/untapped.js';
import t from 'tap';
import { FLEET_PROCESSES, FLEET_TARGET_SOCKETS, fleetConfig, oneProcessConfig } from './support/fleet.js';
import { holdSockets } from './support/hold-sockets.js';
import { measured } from './support/load.js';
import { fmt, ResultWriter } from './support/results.js';
import { startBenchUntradex } from './support/servers.js';
import { envInt } from './support/sizes.js';

const SOCKETS = envInt('UX_BENCH_FLEET_SOCKETS', { small: 3_000, default: 100_000 });
const ONE_PROCESS_SOCKETS = envInt('UX_BENCH_FLEET_BASELINE_SOCKETS', { small: 1_000, default: 19_000 });
/**
 * Connections opened per second. Each new student costs this box about 1 ms of CPU, server and
 * load generator together (handshake, hello, Redis claim, welcome: mostly syscalls), so about
 * 800/s is what two cores sustain; a faster ramp only queues, and hello timeouts then add churn.
 */
const CONNECT_RATE = envInt('UX_BENCH_FLEET_CONNECT_RATE', { small: 1_000, default: 700 });

const result = new ResultWriter('fleet-capacity', `Scale-out capacity: idle authenticated sockets through ${FLEET_PROCESSES} gateway processes`);
Object.assign(result.sizes, { sockets: SOCKETS, gatewayProcesses: FLEET_PROCESSES, baselineSockets: ONE_PROCESS_SOCKETS, connectPerSecond: CONNECT_RATE });

const one = await measured(t, 'one gateway process (baseline)', async (t) => {
  const server = await startBenchUntradex(t, oneProcessConfig());
  return holdSockets(t, server, ONE_PROCESS_SOCKETS, CONNECT_RATE);
});
const fleet = await measured(t, `${FLEET_PROCESSES} gateway processes`, async (t) => {
  const server = await startBenchUntradex(t, fleetConfig(FLEET_PROCESSES));
  let spread: number[] = [];
  const whileHeld = async () => {
    const status = await server.ux.api<{ processes?: Array<{ id: string; connections: number }> }>('GET', '/api/status');
    spread = (status.body.processes ?? []).map((p) => p.connections);
    t.comment(`sockets per gateway process: ${spread.join(', ')}`);
  };
  const held = await holdSockets(t, server, SOCKETS, CONNECT_RATE, { timeoutMs: 180_000, whileHeld });
  return { ...held, spread };
});

const oneLabel = `one gateway process, ${ONE_PROCESS_SOCKETS.toLocaleString('en-US')} sockets`;
result.add({ id: 'fleet.sockets', label: 'authenticated idle sockets held', value: fleet.welcomed, unit: 'sockets', better: 'higher', baseline: { label: oneLabel, value: one.welcomed }, note: `${fleet.failed} of ${SOCKETS} not welcomed` });
result.add({ id: 'fleet.rssPerSocket', label: 'server RSS per socket (every gateway process, the root and its broker)', value: fleet.serverKiBPerSocket, unit: 'KiB', better: 'lower', baseline: { label: oneLabel, value: one.serverKiBPerSocket } });
result.add({ id: 'fleet.redisPerSocket', label: 'Redis RSS per student session', value: fleet.redisKiBPerSocket, unit: 'KiB', better: 'lower', baseline: { label: oneLabel, value: one.redisKiBPerSocket } });
result.add({ id: 'fleet.serverRss', label: 'server RSS with every socket open', value: fleet.serverRssMiB, unit: 'MiB', better: 'lower', baseline: { label: oneLabel, value: one.serverRssMiB } });
result.add({ id: 'fleet.welcomeP99', label: `p99 connect-to-welcome during a ${CONNECT_RATE}/s ramp`, value: fleet.welcomeP99Ms, unit: 'ms', better: 'lower', baseline: { label: oneLabel, value: one.welcomeP99Ms } });
if (fleet.spread.length > 0) {
  result.add({ id: 'fleet.busiestProcess', label: 'sockets on the busiest gateway process', value: Math.max(...fleet.spread), unit: 'sockets', better: 'lower', baseline: { label: 'an even share', value: fleet.welcomed / fleet.spread.length } });
}
result.target({
  id: 'fleet.sockets',
  issue: 6,
  text: `at least ${FLEET_TARGET_SOCKETS.toLocaleString('en-US')} concurrent authenticated student sockets through several gateway processes, with server RSS per socket reported`,
  met: SOCKETS < FLEET_TARGET_SOCKETS ? null : fleet.welcomed >= FLEET_TARGET_SOCKETS,
  measured: `${fleet.welcomed} of ${SOCKETS} through ${FLEET_PROCESSES} processes (${fleet.spread.join(' / ')}), ${fmt(fleet.serverKiBPerSocket)} KiB of server RSS each (one process: ${fmt(one.serverKiBPerSocket)} KiB)`,
});
result.note(`Gateway processes run ${JSON.stringify(fleetConfig(FLEET_PROCESSES))} over config/default.json; the baseline is one process with config/default.json. Both on the same embedded Redis setup (appendfsync always).`);
result.note(`The load generator used ${fleet.loadProcesses} processes (each under the 20,000 open-files limit) bound to 127.0.0.2 and up as source addresses, on the same 2 cores as the server.`);
result.note('RSS per socket is (the server\'s RSS with every socket welcomed and idle, the median of five readings) minus (the same before the first connect), over the sockets welcomed; the server is the root process with every descendant but redis-server.');

t.comment(result.table());
t.ok(fleet.welcomed > 0 && one.welcomed > 0, 'both setups welcomed students');
t.comment(`results: ${result.write()}`);
