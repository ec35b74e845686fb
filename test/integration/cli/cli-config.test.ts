// The CLI as `npm start` runs it: a bad config (through --config or UNTRADEX_CONFIG) stops the
// start with exit code 2 and a message naming the key; nothing is left running.

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../../src/config/load-config.js';

const cli = join(packageRoot(), 'dist', 'app', 'cli', 'main.js');

t.test('a bad key stops the start and names the key', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ux-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.json');
  await writeFile(file, JSON.stringify({ dataDir: dir, gateway: { maxFrameBytes: -1 } }));
  const viaFlag = spawnSync(process.execPath, [cli, '--config', file], { encoding: 'utf8', timeout: 20_000 });
  t.equal(viaFlag.status, 2);
  t.match(viaFlag.stderr, /gateway\.maxFrameBytes/);
  const viaEnv = spawnSync(process.execPath, [cli], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, UNTRADEX_CONFIG: file } });
  t.equal(viaEnv.status, 2);
  t.match(viaEnv.stderr, /gateway\.maxFrameBytes/);
  const missing = spawnSync(process.execPath, [cli, '--config', join(dir, 'nope.json')], { encoding: 'utf8', timeout: 20_000 });
  t.equal(missing.status, 2);
  t.match(missing.stderr, /cannot read/);
});
