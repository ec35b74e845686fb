// How many buckets one exporter thread loads at once, by sink: two side by side keep a fast
// database fed while the other bucket is read from Redis, encoded or committed (docs/TUNING.md).

import type { SinkKind } from '../sinks/result-sink.js';

/**
 * PostgreSQL: 2. Its sink takes each bucket's connection from a pool (4 per exporter), so two
 * buckets' transactions run side by side. One bucket at a time left the backend idle about 40% of
 * the time on a box whose PostgreSQL was fast (1 exporter at 50-54% of `\copy`; two buckets at once,
 * 67%). SQLite: 1, its bucket writes share the exporter's one database connection. Oracle: 1 until
 * two at once is measured against a real Oracle server.
 */
export function bucketsPerExporter(sink: SinkKind): number {
  return sink === 'postgres' ? 2 : 1;
}
