// The tests' free-port helper: two test processes drawing ports at once are never handed the same
// one (a port checked free is not yet listened on), and a claim left by a dead process is taken over.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { claimPort, freePort } from '../../helpers/free-port.js';

const helper = fileURLToPath(new URL('../../helpers/free-port.js', import.meta.url));
const DRAWS = 1500;

/** A process drawing ports: its claims last as long as it does, so it waits for stdin's end to exit. */
interface Drawer {
  ports: Promise<number[]>;
  release(): Promise<void>;
}

/** A child process that draws `count` ports and prints them, one JSON array, then holds them. */
function drawIn(count: number): Drawer {
  const script = `import { freePort } from ${JSON.stringify(helper)};
const ports = [];
for (let i = 0; i < ${count}; i += 1) ports.push(await freePort());
process.stdout.write(JSON.stringify(ports) + '\\n');
process.stdin.resume().on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const ports = new Promise<number[]>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.endsWith('\n')) resolve(JSON.parse(out) as number[]);
    });
    void exited.then(([code]) => reject(new Error(`the drawing process exited with ${String(code)} before printing`)));
  });
  return {
    ports,
    async release() {
      child.stdin.end();
      const [code] = await exited;
      if (code !== 0) throw new Error(`the drawing process exited with ${String(code)}`);
    },
  };
}

t.test('two processes drawing at once are never handed the same port', async (t) => {
  // 1,500 random draws each from ~22,000 ports would share ~100 without the claims.
  // Both hold their claims until both have drawn: a port is only claimed while its process lives.
  const one = drawIn(DRAWS);
  const other = drawIn(DRAWS);
  t.teardown(() => Promise.all([one.release(), other.release()]));
  const [first, second] = await Promise.all([one.ports, other.ports]);
  t.equal(first.length, DRAWS);
  t.equal(second.length, DRAWS);
  t.equal(new Set(first).size, DRAWS, 'no port twice within one process');
  const shared = first.filter((port) => new Set(second).has(port));
  t.same(shared, [], 'no port handed to both processes');
});

t.test('a claim held by a live process is refused; one left by a dead process is taken over', async (t) => {
  const mine = await freePort();
  t.notOk(claimPort(mine), 'a port this process holds is not handed out again');

  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  const port = 10_000 + ((mine - 10_000 + 7919) % 20_000);
  writeFileSync(join(tmpdir(), 'untradex-test-ports', String(port)), String(dead));
  t.ok(claimPort(port), `the claim of exited pid ${String(dead)} is taken over`);
  t.notOk(claimPort(port), 'and then it is this process that holds it');
});
