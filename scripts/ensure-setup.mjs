#!/usr/bin/env node
// Runs before `npm start` and `npm test`: installs the npm dependencies when they are missing,
// makes sure redis-server (7 or newer) is there, installing it with apt-get when it can, and builds.
// For the tests it also installs Debian's Chromium (the browser tests drive it with playwright-core).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const forTests = process.argv.includes('--for-tests');

function say(message) {
  process.stderr.write(`[untradex setup] ${message}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  return result.status === 0;
}

function redisVersion() {
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
    const match = /v=(\d+)\.(\d+)/.exec(out);
    return match ? Number(match[1]) : 0;
  } catch {
    return null;
  }
}

function ensureNodeModules() {
  const lock = join(root, 'package-lock.json');
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  say('installing npm dependencies (npm ci)');
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) {
    say('npm ci failed; see the output above');
    process.exit(1);
  }
}

function ensureRedis() {
  const version = redisVersion();
  if (version !== null && version >= 7) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (hasApt && isRoot) {
    say(version === null ? 'redis-server is missing; installing it with apt-get' : `redis-server ${version} is too old; upgrading it with apt-get`);
    if (run('apt-get', ['update', '-qq']) && run('apt-get', ['install', '-y', '-qq', 'redis-server'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })) {
      const installed = redisVersion();
      if (installed !== null && installed >= 7) return;
    }
  }
  say(
    'Untradex needs redis-server 7 or newer on PATH for its embedded Redis' + (forTests ? ' and for its tests' : '') + '.\n' +
      '  Debian/Ubuntu: sudo apt-get install redis-server\n' +
      '  macOS:         brew install redis\n' +
      (forTests ? '' : '  Or use an existing Redis: set redis.embedded=false and redis.url in your config.\n'),
  );
  // Starting against an external Redis needs no local binary, so only the tests insist.
  if (forTests) process.exit(1);
}

function isRootWithApt() {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return isRoot && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
}

/**
 * The browser tests need a Chromium; playwright's own browser download cannot reach the registries
 * these machines have, so Debian's package it is. Missing and not installable: the browser tests
 * skip and say so (test/helpers/chromium.ts); everything else still runs.
 */
function ensureChromium() {
  const path = process.env.UX_CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return;
  if (isRootWithApt()) {
    say('Chromium is missing; installing Debian\'s chromium package for the browser tests (apt-get)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (run('apt-get', ['update', '-qq'], { env }) && run('apt-get', ['install', '-y', '-qq', 'chromium'], { env }) && existsSync(path)) return;
  }
  say(
    `no Chromium at ${path}: the browser tests will be skipped.\n` +
      '  Debian/Ubuntu: sudo apt-get install chromium   (or set UX_CHROMIUM_PATH to a Chromium or Chrome binary)\n',
  );
}

/**
 * The same three steps as `npm run build`: the server, the client's type declarations, and the
 * bundles the gateway serves (GET /client/untradex.js and /exam/ answer 503 without them).
 */
function build() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!run(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')]) || !run(process.execPath, [tsc, '-p', join(root, 'tsconfig.browser.json')])) {
    say('the TypeScript build failed; see the errors above');
    process.exit(1);
  }
  if (!run(process.execPath, [join(root, 'scripts', 'build-client.mjs')])) {
    say('bundling the browser client and the exam page failed; see the errors above');
    process.exit(1);
  }
}

/**
 * tap ships its Test class built with its default plugins, TypeScript's among them; package.json
 * turns that one off (the tests run compiled from dist/). tap rebuilds the class on its first run,
 * but that run still starts every test file with the TypeScript loader, which cost each of the
 * ~170 files its start-up: build it before the first run instead.
 */
function ensureTapPlugins() {
  const built = join(root, 'node_modules', '@tapjs', 'test', 'test-built', 'dist', 'esm', 'index.js');
  if (!existsSync(built) || !readFileSync(built, 'utf8').includes('"@tapjs/typescript"')) return;
  say("building tap's Test class with this project's plugins (tap build)");
  if (!run(process.execPath, [join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), 'build'])) {
    say('tap build failed; see the output above');
    process.exit(1);
  }
}

ensureNodeModules();
ensureRedis();
if (forTests) {
  ensureChromium();
  ensureTapPlugins();
}
build();
