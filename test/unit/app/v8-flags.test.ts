// The V8 flags of a server process: the memory reducer is turned off unless the command line chose,
// on the command line wherever Untradex starts a server, and from inside before any other module.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../../src/config/load-config.js';
import { applyServerV8Flags } from '../../../app/v8-flags.js';
import { MEMORY_REDUCER_OFF, memoryReducerArgv, memoryReducerChoice } from '../../../src/actor-runtime/memory-reducer.js';

t.test('the memory reducer is turned off unless the command line chose', async (t) => {
  t.equal(MEMORY_REDUCER_OFF, '--no-memory-reducer');
  t.equal(applyServerV8Flags([]), true, 'plain `node main.js`: set');
  t.equal(applyServerV8Flags(['--enable-source-maps', '--cpu-prof']), true, 'other flags: set');
  t.equal(applyServerV8Flags(['--memory-reducer']), false, '`node --memory-reducer`: V8 default kept');
  t.equal(applyServerV8Flags(['--no-memory-reducer']), false, 'already off on the command line: not set twice');
});

// V8 reads the flag as the heap runs; a module loaded earlier would have run with the reducer on.
for (const entry of ['app/cli/main.ts', 'app/gateway-process-main.ts']) {
  t.test(`${entry} loads the V8 flags before any other module`, async (t) => {
    const source = readFileSync(join(packageRoot(), entry), 'utf8');
    const imports = [...source.matchAll(/^import\s[^;]*?['"]([^'"]+)['"];?$/gm)].map((match) => match[1]);
    t.ok(imports.length > 1, 'imports found');
    t.match(imports[0], /(^|\/)v8-flags\.js$/, `first import of ${entry}`);
  });
}

t.test('a forked gateway process takes the choice of its primary, or the reducer off', async (t) => {
  t.same(memoryReducerArgv([]), ['--no-memory-reducer'], 'no choice: off');
  t.same(memoryReducerArgv(['--enable-source-maps']), ['--no-memory-reducer']);
  t.same(memoryReducerArgv(['--memory-reducer']), ['--memory-reducer'], 'V8 default kept when asked');
  t.same(memoryReducerArgv(['--no-memory-reducer', '--memory-reducer']), ['--memory-reducer'], 'the last one wins, as for node');
  t.equal(memoryReducerChoice(['--cpu-prof']), undefined);
});

// Set from inside, the flag does not reach the main isolate (src/actor-runtime/memory-reducer.ts):
// every way the project starts a server names it on node's command line.
t.test('npm start and the systemd unit start node with the memory reducer off', async (t) => {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.match(pkg.scripts['start'], /^node --no-memory-reducer dist\/app\/cli\/main\.js$/, 'npm start');
  const unit = readFileSync(join(packageRoot(), 'deploy', 'untradex.service'), 'utf8');
  t.match(unit, /^ExecStart=\/usr\/bin\/node --no-memory-reducer \/opt\/untradex\/dist\/app\/cli\/main\.js /m, 'deploy/untradex.service');
});
