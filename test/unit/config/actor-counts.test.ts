// "auto" actor counts: the rule of docs/TUNING.md on the machines of config/examples, numbers kept,
// and "auto" in a config file resolved to numbers before anything else sees the config.

import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { resolveActorCounts } from '../../../src/config/actor-counts.js';
import { loadConfig } from '../../../src/config/load-config.js';

const auto = { connectionActors: 'auto', writers: 'auto' } as const;

t.test('the rule on the machines the examples describe', async (t) => {
  t.same(resolveActorCounts(auto, 1, 1), { connectionActors: 1, writers: 1 }, '1 core');
  t.same(resolveActorCounts(auto, 2, 1), { connectionActors: 1, writers: 1 }, '2 cores: the measured defaults (one connection actor writing its quiet students\' events itself)');
  t.same(resolveActorCounts(auto, 3, 1), { connectionActors: 1, writers: 1 }, '3 cores');
  t.same(resolveActorCounts(auto, 4, 1), { connectionActors: 2, writers: 1 }, '4 cores');
  t.same(resolveActorCounts(auto, 8, 2), { connectionActors: 2, writers: 1 }, '8 cores as 2 processes: config/examples/8-cores.json');
  t.same(resolveActorCounts(auto, 32, 6), { connectionActors: 3, writers: 1 }, '32 cores as 6 processes: config/examples/32-cores.json');
  t.same(resolveActorCounts(auto, 16, 1), { connectionActors: 8, writers: 2 }, '16 cores in one process: at most 8 connection actors');
  t.same(resolveActorCounts(auto, 2, 6), { connectionActors: 1, writers: 1 }, 'more processes than cores: one of each');
});

t.test('numbers are kept; each "auto" is resolved on its own', async (t) => {
  t.same(resolveActorCounts({ connectionActors: 5, writers: 3 }, 2, 1), { connectionActors: 5, writers: 3 });
  t.same(resolveActorCounts({ connectionActors: 'auto', writers: 3 }, 8, 1), { connectionActors: 4, writers: 3 });
});

t.test('loadConfig turns "auto" into thread counts', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ux-config-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const { config } = loadConfig({ overrides: { dataDir, gateway: { connectionActors: 'auto' }, writers: { count: 'auto' } } });
  t.same(
    { connectionActors: config.gateway.connectionActors, writers: config.writers.count },
    resolveActorCounts(auto, availableParallelism(), config.gateway.processes),
  );
  t.throws(() => loadConfig({ overrides: { dataDir, gateway: { connectionActors: 'many' } } }), { code: 'UX_ERR_CONFIG' }, 'anything else is refused, naming the key');
});
