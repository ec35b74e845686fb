// Saturation: the most acked events/s with 2,000 sockets, each keeping a few events unacked at all
// times, and the server CPU per acked event; against the naive server and redis-benchmark.

import './support/untapped.js';
import t from 'tap';
import { measured } from './support/load.js';
import { measureIngest, type IngestMeasure, type IngestPlan } from './support/ingest.js';
import { redisBenchmarkWrites, type RedisBenchmarkResult } from './support/redis-benchmark.js';
import { fmt, ResultWriter, spreadOf } from './support/results.js';
import { startBenchNaive, startBenchUntradex } from './support/servers.js';
import { envInt } from './support/sizes.js';

const SOCKETS = envInt('UX_BENCH_SAT_SOCKETS', { small: 200, default: 2_000 });
const SECONDS = envInt('UX_BENCH_SAT_SECONDS', { small: 4, default: 15 });
const WINDOW = envInt('UX_BENCH_SAT_WINDOW', { small: 4, default: 4 });
const RB_CALLS = envInt('UX_BENCH_SAT_REDIS_CALLS', { small: 20_000, default: 200_000 });

const result = new ResultWriter('saturation', `Saturation: the most acked events/s with ${SOCKETS.toLocaleString('en-US')} sockets (appendfsync always)`);
Object.assign(result.sizes, { sockets: SOCKETS, seconds: SECONDS, unackedPerSocket: WINDOW, redisBenchmarkCalls: RB_CALLS });

const plan: IngestPlan = {
  students: SOCKETS,
  driver: 'raw',
  connect: { mode: 'ramp', windowMs: 2000, timeoutMs: 30_000, sendOpen: false },
  run: { kind: 'closed', durationMs: SECONDS * 1000, window: WINDOW, drainMs: 15_000 },
};

const ux = await measured(t, 'untradex', async (t) => measureIngest(t, await startBenchUntradex(t), plan));
const naive = await measured(t, 'naive server', async (t) => measureIngest(t, await startBenchNaive(t, 'always'), plan));
const single = await measured(t, 'redis-benchmark, one event per FCALL, -P 64', async (t) =>
  redisBenchmarkWrites(t, { appendfsync: 'always', calls: RB_CALLS, clients: 16, pipeline: 64, eventsPerCall: 1 }),
);
const batched = await measured(t, 'redis-benchmark, 32 events per FCALL, -P 16', async (t) =>
  redisBenchmarkWrites(t, { appendfsync: 'always', calls: Math.ceil(RB_CALLS / 32), clients: 16, pipeline: 16, eventsPerCall: 32 }),
);
const redisBest: RedisBenchmarkResult = batched.eventsPerSecond >= single.eventsPerSecond ? batched : single;
for (const rb of [single, batched]) t.comment(`${rb.command}: ${fmt(rb.eventsPerSecond)} events/s, Redis CPU ${fmt(rb.redisCpuPerEventUs)} µs/event`);

const rate = (m: IngestMeasure) => m.run.ackedPerSecond;
// The first and last seconds hold the ramp-in and the drain; the spread is over the seconds between.
const seconds = (m: IngestMeasure) => m.run.perSecond.slice(1, -1);
result.add({ id: 'saturation.eventsPerSecond', label: 'acked events/s', value: rate(ux), unit: 'events/s', better: 'higher', spread: spreadOf(seconds(ux), 'per second'), baseline: { label: 'naive server', value: rate(naive) } });
result.add({ id: 'saturation.vsRedis', label: 'acked events/s against Redis\'s own limit', value: rate(ux), unit: 'events/s', better: 'higher', baseline: { label: `redis-benchmark, ${redisBest.callsPerSecond === single.callsPerSecond ? '1' : '32'} event(s) per FCALL`, value: redisBest.eventsPerSecond } });
result.add({ id: 'saturation.naiveEventsPerSecond', label: 'naive server acked events/s', value: rate(naive), unit: 'events/s', better: 'higher', spread: spreadOf(seconds(naive), 'per second'), baseline: { label: 'redis-benchmark best', value: redisBest.eventsPerSecond } });
result.add({ id: 'saturation.cpuPerEvent', label: 'server + Redis CPU per acked event', value: ux.cpuPerEventUs, unit: 'µs', better: 'lower', baseline: { label: 'naive server', value: naive.cpuPerEventUs } });
result.add({ id: 'saturation.redisCpuPerEvent', label: 'Redis CPU per acked event', value: (ux.cpu.redisCpuSeconds / Math.max(1, ux.run.ackedDuringRun)) * 1e6, unit: 'µs', better: 'lower', baseline: { label: 'naive server\'s Redis', value: (naive.cpu.redisCpuSeconds / Math.max(1, naive.run.ackedDuringRun)) * 1e6 } });
result.add({ id: 'saturation.redisBenchmarkCpu', label: 'Redis CPU per event under redis-benchmark (32 per FCALL)', value: batched.redisCpuPerEventUs, unit: 'µs', better: 'lower', baseline: { label: '1 per FCALL', value: single.redisCpuPerEventUs } });
result.add({ id: 'saturation.p99', label: 'p99 ack latency at saturation', value: ux.run.all.p99Ms, unit: 'ms', better: 'lower', baseline: { label: 'naive server', value: naive.run.all.p99Ms } });
result.add({ id: 'saturation.p50', label: 'p50 ack latency at saturation', value: ux.run.all.p50Ms, unit: 'ms', better: 'lower', baseline: { label: 'naive server', value: naive.run.all.p50Ms } });
result.add({ id: 'saturation.errors', label: 'errors and reconnects seen by the students', value: ux.run.errors + ux.run.reconnects, unit: 'events', better: 'lower', baseline: { label: 'naive server', value: naive.run.errors + naive.run.reconnects } });
result.add({ id: 'saturation.loadShare', label: 'load generator share of the CPU used', value: ux.loadCpuShare * 100, unit: '%', better: 'lower', baseline: { label: 'naive server run', value: naive.loadCpuShare * 100 } });
result.add({ id: 'saturation.machineBusy', label: 'machine CPU busy during the run', value: ux.machineBusy * 100, unit: '%', better: 'higher', baseline: { label: 'naive server run', value: naive.machineBusy * 100 } });

const ratio = rate(ux) / Math.max(1e-9, rate(naive));
const cpuRatio = ux.cpuPerEventUs / Math.max(1e-9, naive.cpuPerEventUs);
const redisShare = rate(ux) / Math.max(1e-9, redisBest.eventsPerSecond);
const fullSize = SOCKETS >= 2_000;
result.target({ id: 'saturation.vsNaive', text: 'at least 2x the naive server\'s acked events/s', met: fullSize ? ratio >= 2 : null, measured: `${fmt(ratio)}x (${fmt(rate(ux))} against ${fmt(rate(naive))})` });
result.target({ id: 'saturation.cpuVsNaive', text: 'at most 0.5x the naive server\'s CPU per event', met: fullSize ? cpuRatio <= 0.5 : null, measured: `${fmt(cpuRatio)}x (${fmt(ux.cpuPerEventUs)} µs against ${fmt(naive.cpuPerEventUs)} µs)` });
result.target({ id: 'saturation.vsRedis', text: 'at least 40% of what Redis itself does with the same writes', met: fullSize ? redisShare >= 0.4 : null, measured: `${fmt(redisShare * 100)}% of ${fmt(redisBest.eventsPerSecond)} events/s` });
result.target({
  id: 'saturation.issue13',
  issue: 13,
  text: 'saturation stays at least 2x the naive server and at least 60% of redis-benchmark doing the same writes',
  met: fullSize ? ratio >= 2 && redisShare >= 0.6 : null,
  measured: `${fmt(ratio)}x the naive server, ${fmt(redisShare * 100)}% of redis-benchmark`,
});
result.note(`The load generator uses a bare ws student (bench/loadgen/student-driver.ts RawStudent), not StudentClient: StudentClient allocates an outbox entry, an encoded frame and an emitted event per event, and on this 2-core machine the load generator's CPU is what limits how hard it can push. It still shares the cores with the server: see the load generator share.`);
result.note(`redis-benchmark commands: ${single.command}; ${batched.command}. Redis's limit is the better of the two.`);

t.comment(result.table());
t.ok(ux.run.ackedTotal > 0 && naive.run.ackedTotal > 0, 'both servers acked events');
t.comment(`results: ${result.write()}`);
