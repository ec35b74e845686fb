// The V8 flags of a server process: the memory reducer is turned off unless the command line chose,
// and both server entry points load the flags before any other module.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../../src/config/load-config.js';
import { applyServerV8Flags, MEMORY_REDUCER_FLAG } from '../../../app/v8-flags.js';

t.test('the memory reducer is turned off unless the command line chose', async (t) => {
  t.equal(MEMORY_REDUCER_FLAG, '--no-memory-reducer');
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
