// Durability cost: the same Untradex under the same load with appendfsync always and everysec:
// ack latency at a fixed offered load, then the most acked events/s each can take.

import './support/untapped.js';
import t from 'tap';
import { measured } from './support/load.js';
import { measureIngest, type IngestMeasure, type IngestPlan } from './support/ingest.js';
import { ResultWriter, spreadOf } from './support/results.js';
import { startBenchUntradex } from './support/servers.js';
import { envInt } from './support/sizes.js';

const SOCKETS = envInt('UX_BENCH_DUR_SOCKETS', { small: 200, default: 2_000 });
const RATE = envInt('UX_BENCH_DUR_RATE', { small: 2, default: 2 });
const SECONDS = envInt('UX_BENCH_DUR_SECONDS', { small: 4, default: 15 });
const WINDOW = envInt('UX_BENCH_SAT_WINDOW', { small: 4, default: 4 });

const result = new ResultWriter('durability', 'Durability cost: appendfsync always against everysec at the same load');
Object.assign(result.sizes, { sockets: SOCKETS, eventsPerSocketPerSecond: RATE, seconds: SECONDS, unackedPerSocketAtSaturation: WINDOW });

const connect = { mode: 'ramp', windowMs: 2000, timeoutMs: 30_000, sendOpen: false } as const;
const fixed: IngestPlan = { students: SOCKETS, driver: 'raw', connect, run: { kind: 'rate', durationMs: SECONDS * 1000, perStudentPerSecond: RATE, endSpike: false, drainMs: 15_000 } };
const flatOut: IngestPlan = { students: SOCKETS, driver: 'raw', connect, run: { kind: 'closed', durationMs: SECONDS * 1000, window: WINDOW, drainMs: 15_000 } };

const runs = {} as Record<'always' | 'everysec', { fixed: IngestMeasure; flatOut: IngestMeasure }>;
for (const appendfsync of ['always', 'everysec'] as const) {
  runs[appendfsync] = await measured(t, `appendfsync ${appendfsync}`, async (t) => {
    const server = await startBenchUntradex(t, { redis: { appendfsync } });
    const atFixed = await measureIngest(t, server, fixed);
    const atMost = await measureIngest(t, server, flatOut);
    return { fixed: atFixed, flatOut: atMost };
  });
}

const { always, everysec } = runs;
const offered = `${(SOCKETS * RATE).toLocaleString('en-US')} events/s offered`;
result.add({ id: 'durability.p50', label: `p50 ack latency, ${offered}`, value: always.fixed.run.all.p50Ms, unit: 'ms', better: 'lower', baseline: { label: 'everysec', value: everysec.fixed.run.all.p50Ms } });
result.add({ id: 'durability.p99', label: `p99 ack latency, ${offered}`, value: always.fixed.run.all.p99Ms, unit: 'ms', better: 'lower', baseline: { label: 'everysec', value: everysec.fixed.run.all.p99Ms } });
result.add({ id: 'durability.p999', label: `p99.9 ack latency, ${offered}`, value: always.fixed.run.all.p999Ms, unit: 'ms', better: 'lower', baseline: { label: 'everysec', value: everysec.fixed.run.all.p999Ms } });
result.add({ id: 'durability.cpuPerEvent', label: `server + Redis CPU per event, ${offered}`, value: always.fixed.cpuPerEventUs, unit: 'µs', better: 'lower', baseline: { label: 'everysec', value: everysec.fixed.cpuPerEventUs } });
result.add({ id: 'durability.fixedRate', label: `acked events/s, ${offered}`, value: always.fixed.run.ackedPerSecond, unit: 'events/s', better: 'higher', baseline: { label: 'everysec', value: everysec.fixed.run.ackedPerSecond } });
result.add({
  id: 'durability.saturation',
  label: `most acked events/s (${WINDOW} unacked per socket)`,
  value: always.flatOut.run.ackedPerSecond,
  unit: 'events/s',
  better: 'higher',
  spread: spreadOf(always.flatOut.run.perSecond.slice(1, -1), 'per second'),
  baseline: { label: 'everysec', value: everysec.flatOut.run.ackedPerSecond },
});
result.add({ id: 'durability.saturationP99', label: 'p99 ack latency at saturation', value: always.flatOut.run.all.p99Ms, unit: 'ms', better: 'lower', baseline: { label: 'everysec', value: everysec.flatOut.run.all.p99Ms } });
result.note('Ratios are always / everysec: what fsyncing every write before its ack costs. everysec acks before the fsync and can lose up to about a second of acked events on power loss.');

t.comment(result.table());
t.ok(always.fixed.run.ackedTotal > 0 && everysec.fixed.run.ackedTotal > 0, 'both configurations acked events');
t.comment(`results: ${result.write()}`);
