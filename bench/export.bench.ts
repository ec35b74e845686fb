// Export: 1,000,000 stored events to SQLite and to PostgreSQL with 1, 2 and 4 exporters, rows/s;
// against psql \copy, prepared inserts in big transactions, and row-by-row. 5,000,000: export-5m.scale.ts.

import './support/untapped.js';
import t from 'tap';
import { runExportScenario } from './support/export-scenario.js';
import { envIntList } from './support/sizes.js';

const result = await runExportScenario(t, {
  name: 'export',
  title: 'Export: stored events to SQLite and PostgreSQL with 1, 2 and 4 exporters',
  events: envIntList('UX_BENCH_EXPORT_EVENTS', { small: [20_000], default: [1_000_000] }),
});
result.note('5,000,000 events are in `npm run bench:scale-out` (bench/export-5m.scale.ts): about five times this run, too long for the 15 minutes of the default run.');
t.comment(result.table());
t.comment(`results: ${result.write()}`);
