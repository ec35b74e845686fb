// The example configurations shipped in config/examples/ must keep loading as the schema moves on.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig, packageRoot } from '../../../src/config/load-config.js';

t.test('every config/examples/*.json loads over the defaults', async (t) => {
  const dir = join(packageRoot(), 'config', 'examples');
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json'));
  t.ok(files.length >= 3, `examples for several machine sizes (${files.join(', ')})`);
  for (const file of files) {
    const dataDir = await mkdtemp(join(tmpdir(), 'ux-example-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const { config } = loadConfig({ path: join(dir, file), overrides: { dataDir } });
    t.ok(config.gateway.connectionActors >= 1 && config.gateway.processes >= 1, `${file} loads`);
  }
});
