// The console's files on a real HTTP server: each path with its type, the CSP on the page only,
// GET and HEAD only, and a checkout that was not built answering 503 with what to run.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CONSOLE_CSP, ConsoleFiles } from '../../../src/control/console-files.js';

async function serve(t: Test, files: ConsoleFiles): Promise<string> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (!files.serves(path)) return void response.writeHead(599).end();
    files.handle(request.method ?? 'GET', path, request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('a built package: every file with its type, the CSP on the page', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ux-console-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'pages/console'), { recursive: true });
  await mkdir(join(root, 'dist/pages/console'), { recursive: true });
  await mkdir(join(root, 'pages/shared'), { recursive: true });
  await writeFile(join(root, 'pages/shared/base.css'), ':root{}');
  await writeFile(join(root, 'pages/console/index.html'), '<!doctype html><title>c</title>');
  await writeFile(join(root, 'pages/console/console.css'), 'body{}');
  await writeFile(join(root, 'dist/pages/console/console.js'), 'export {};');
  await writeFile(join(root, 'dist/pages/console/uplot.css'), '.u{}');
  const files = new ConsoleFiles(root);
  t.same(files.missing, []);
  const base = await serve(t, files);

  const page = await fetch(`${base}/`);
  t.equal(page.status, 200);
  t.equal(page.headers.get('content-security-policy'), CONSOLE_CSP);
  t.match(CONSOLE_CSP, /default-src 'self'/);
  t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  t.equal(await page.text(), '<!doctype html><title>c</title>');
  for (const [path, type] of [['/console/console.js', 'text/javascript'], ['/console/base.css', 'text/css'], ['/console/console.css', 'text/css'], ['/console/uplot.css', 'text/css']] as const) {
    const reply = await fetch(`${base}${path}`);
    t.equal(reply.status, 200, path);
    t.match(reply.headers.get('content-type'), type, path);
    t.equal(reply.headers.get('content-security-policy'), null, `${path} needs no CSP of its own`);
  }
  const head = await fetch(`${base}/`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(await head.text(), '');
  const post = await fetch(`${base}/`, { method: 'POST' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  t.notOk(files.serves('/api/status'), 'the API is not the console\'s');
  t.notOk(files.serves('/console/../secrets.json'));
});

t.test('a checkout that was not built answers 503 saying what to run', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ux-console-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const files = new ConsoleFiles(root);
  t.same([...new Set(files.missing)].sort(), ['dist/pages/console/console.js', 'dist/pages/console/uplot.css', 'pages/console/console.css', 'pages/console/index.html', 'pages/shared/base.css']);
  const base = await serve(t, files);
  const reply = await fetch(`${base}/`);
  t.equal(reply.status, 503);
  t.match(await reply.text(), /npm run build/);
});
