// Export at scale (npm run bench:scale-out): 5,000,000 stored events to SQLite and to PostgreSQL with
// 1, 2 and 4 exporters, rows/s, against the same baselines as export.bench.ts measured on the same rows.

import './support/untapped.js';
import t from 'tap';
import { runExportScenario } from './support/export-scenario.js';
import { envIntList } from './support/sizes.js';

const result = await runExportScenario(t, {
  name: 'export-5m',
  title: 'Export at scale: 5,000,000 stored events to SQLite and PostgreSQL with 1, 2 and 4 exporters',
  events: envIntList('UX_BENCH_EXPORT_5M_EVENTS', { small: [50_000], default: [5_000_000] }),
});
t.comment(result.table());
t.comment(`results: ${result.write()}`);
