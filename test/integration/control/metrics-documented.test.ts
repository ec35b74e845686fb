// docs/OPERATIONS.md lists every metric GET /metrics serves, with its meaning: read from a running
// Untradex, so a metric added, renamed or moved to another exporter cannot go undocumented.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot, startUntradexInProcess } from '../../helpers/untradex.js';

t.test('every metric of /metrics has a row in docs/OPERATIONS.md', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 2 }, gateway: { connectionActors: 1 } });
  const reply = await fetch(`${ux.controlUrl}/metrics`);
  t.equal(reply.status, 200);
  const text = await reply.text();
  const served = [...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((match) => match[1]!);
  t.ok(served.length > 10, `/metrics serves metrics (${served.length})`);
  const doc = readFileSync(join(repoRoot(), 'docs', 'OPERATIONS.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `([a-z_:][a-z0-9_:]*)` \|/gm)].map((match) => match[1]!));
  const missing = served.filter((name) => !documented.has(name));
  t.same(missing, [], 'each served metric is a row of the metrics table (add the missing ones, with their meaning)');
});
