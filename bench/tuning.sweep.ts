// The tuning sweep behind docs/TUNING.md (not part of `npm run bench`): the same saturation and
// fixed-rate loads against Untradex with one knob changed at a time. Run: npx tap dist/bench/tuning.sweep.js

import './support/untapped.js';
import t from 'tap';
import { measured } from './support/load.js';
import { measureIngest, type IngestPlan } from './support/ingest.js';
import { ResultWriter, spreadOf } from './support/results.js';
import { startBenchUntradex } from './support/servers.js';
import { envInt, envList } from './support/sizes.js';

const SOCKETS = envInt('UX_BENCH_SWEEP_SOCKETS', { small: 200, default: 2_000 });
const SECONDS = envInt('UX_BENCH_SWEEP_SECONDS', { small: 4, default: 10 });
const RATE = envInt('UX_BENCH_SWEEP_RATE', { small: 2, default: 1 });
const WINDOW = envInt('UX_BENCH_SAT_WINDOW', { small: 4, default: 4 });
/** Rounds over every variant, interleaved, so a noisy minute on the machine hits all variants alike. */
const REPEATS = envInt('UX_BENCH_SWEEP_REPEATS', { small: 1, default: 2 });

/** Each variant is merged over config/default.json (and UX_BENCH_CONFIG). */
const VARIANTS: Record<string, Record<string, unknown>> = {
  default: {},
  'connectionActors=1': { gateway: { connectionActors: 1 } },
  'connectionActors=4': { gateway: { connectionActors: 4 } },
  'writers.count=2': { writers: { count: 2 } },
  'redisConnections=1': { writers: { redisConnections: 1 } },
  'redisConnections=8': { writers: { redisConnections: 8 } },
  'lingerMs=0': { writers: { lingerMs: 0 } },
  'lingerMs=3': { writers: { lingerMs: 3 } },
  'batchMaxEvents=256': { writers: { batchMaxEvents: 256 } },
  'ringBytes=256KiB': { gateway: { ringBytes: 262_144 } },
};
const chosen = envList('UX_BENCH_SWEEP_VARIANTS', Object.keys(VARIANTS));

const result = new ResultWriter('tuning-sweep', 'Tuning sweep: one knob at a time against config/default.json');
Object.assign(result.sizes, { repeats: REPEATS, sockets: SOCKETS, seconds: SECONDS, fixedRatePerSocket: RATE, unackedPerSocket: WINDOW, variants: chosen.join(' ') });

const connect = { mode: 'ramp', windowMs: 2000, timeoutMs: 30_000, sendOpen: false } as const;
const flatOut: IngestPlan = { students: SOCKETS, driver: 'raw', connect, run: { kind: 'closed', durationMs: SECONDS * 1000, window: WINDOW, drainMs: 15_000 } };
const fixed: IngestPlan = { students: SOCKETS, driver: 'raw', connect, run: { kind: 'rate', durationMs: SECONDS * 1000, perStudentPerSecond: RATE, endSpike: false, drainMs: 15_000 } };

interface SweepMeasure {
  rate: number;
  cpu: number;
  p99Fixed: number;
}
const measures: Record<string, SweepMeasure[]> = {};
for (let round = 1; round <= REPEATS; round++) {
  for (const name of chosen) {
    const overrides = VARIANTS[name];
    if (overrides === undefined) throw new Error(`unknown sweep variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
    const m = await measured(t, `${name}, round ${round}`, async (t) => {
      const server = await startBenchUntradex(t, overrides);
      const atFixed = await measureIngest(t, server, fixed);
      const atMost = await measureIngest(t, server, flatOut);
      return { rate: atMost.run.ackedPerSecond, cpu: atMost.cpuPerEventUs, p99Fixed: atFixed.run.all.p99Ms };
    });
    (measures[name] ??= []).push(m);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const summary = (list: SweepMeasure[], pick: (m: SweepMeasure) => number) => ({ value: median(list.map(pick)), spread: spreadOf(list.map(pick), `${list.length} rounds`) });
const base = measures['default'] ?? Object.values(measures)[0]!;
for (const [name, list] of Object.entries(measures)) {
  const rate = summary(list, (m) => m.rate);
  const cpu = summary(list, (m) => m.cpu);
  const p99 = summary(list, (m) => m.p99Fixed);
  result.add({ id: `sweep.${name}.rate`, label: `${name}: most acked events/s`, unit: 'events/s', better: 'higher', ...rate, baseline: { label: 'default', value: summary(base, (m) => m.rate).value } });
  result.add({ id: `sweep.${name}.cpu`, label: `${name}: server + Redis CPU per event at saturation`, unit: 'µs', better: 'lower', ...cpu, baseline: { label: 'default', value: summary(base, (m) => m.cpu).value } });
  result.add({ id: `sweep.${name}.p99`, label: `${name}: p99 ack latency at ${(SOCKETS * RATE).toLocaleString('en-US')} events/s`, unit: 'ms', better: 'lower', ...p99, baseline: { label: 'default', value: summary(base, (m) => m.p99Fixed).value } });
}
result.note('Medians over interleaved rounds on a shared 2-core machine: read differences inside the spread as noise.');
t.comment(result.table());
t.comment(`results: ${result.write()}`);
