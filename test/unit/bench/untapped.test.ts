// The benchmarks' servers and load processes run without tap's module hooks: tap's processinfo
// puts its --import back into every child's NODE_OPTIONS, and bench/support/untapped.ts takes it out.

import { execFileSync, fork } from 'node:child_process';
import { join } from 'node:path';
import processOnSpawn from 'process-on-spawn';
import t from 'tap';
import { stripTapOnSpawn, withoutTapOptions } from '../../../bench/support/untapped.js';

const PRINT_OPTIONS = 'process.stdout.write(process.env.NODE_OPTIONS ?? "")';

function childOptions(): string {
  return execFileSync(process.execPath, ['-e', PRINT_OPTIONS], { encoding: 'utf8' });
}

t.test('tap runs this test with its own hooks (else the checks below prove nothing)', async (t) => {
  t.ok(process.execArgv.some((arg) => arg.includes('@tapjs/')), process.execArgv.join(' '));
});

t.test('a spawned node process gets no tap option in NODE_OPTIONS', async (t) => {
  t.notMatch(childOptions(), /@tapjs\//);
  t.notMatch(process.env['NODE_OPTIONS'] ?? '', /@tapjs\//);
});

t.test('without the listener, tap puts its hooks back into the child (what the listener undoes)', async (t) => {
  processOnSpawn.removeListener(stripTapOnSpawn);
  try {
    t.match(childOptions(), /@tapjs\/processinfo/);
  } finally {
    processOnSpawn.addListener(stripTapOnSpawn);
  }
  t.notMatch(childOptions(), /@tapjs\//);
});

t.test('a forked load process runs without tap hooks too', async (t) => {
  const dir = t.testdir({ 'report.mjs': 'process.send(process.env.NODE_OPTIONS ?? "", () => process.disconnect());\n' });
  // As bench/loadgen/load-generator.ts forks its load processes.
  const child = fork(join(dir, 'report.mjs'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=4096'] });
  const options = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve(String(message)));
    child.once('error', reject);
  });
  await new Promise((resolve) => child.once('exit', resolve));
  t.notMatch(options, /@tapjs\//);
});

t.test('withoutTapOptions keeps every other option', async (t) => {
  t.equal(withoutTapOptions(undefined), undefined);
  t.equal(withoutTapOptions('--import=file:///x/node_modules/@tapjs/processinfo/dist/esm/import.mjs'), undefined);
  t.equal(withoutTapOptions('--max-old-space-size=4096 --import=file:///x/@tapjs/mock/import.mjs --enable-source-maps'), '--max-old-space-size=4096 --enable-source-maps');
});
