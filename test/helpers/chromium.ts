// Debian's Chromium driven by playwright-core, for the browser tests: no browser download (this
// project's machines reach only the npm and Debian registries), the flags a closed network needs.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, LaunchOptions } from 'playwright-core';
import { chromium } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser; UX_CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.UX_CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Without the background-networking flags Chromium keeps trying Google's hosts, which this
 * machine refuses many at a time; as root it needs --no-sandbox.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface TapLike {
  teardown(fn: () => unknown): unknown;
}

/**
 * Why browser tests cannot run here, or null when they can. `npm test` installs Chromium with
 * apt-get when it can (scripts/ensure-setup.mjs); where it could not, the tests skip loudly.
 */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  return `BROWSER TESTS SKIPPED: no Chromium at ${CHROMIUM_PATH}; install Debian's package (apt-get install chromium) or set UX_CHROMIUM_PATH`;
}

/**
 * Options for a browser subtest: `t.test(name, browserTest(), async (t) => ...)` skips it, with the
 * reason in tap's output and on stderr, where there is no Chromium.
 */
export function browserTest(): { skip: string | false } {
  const why = chromiumMissing();
  if (why !== null) process.stderr.write(`${why}\n`);
  return { skip: why ?? false };
}

/** Launches headless Chromium, closed at the test's teardown. */
export async function launchChromium(t: TapLike, options: LaunchOptions = {}): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    ...options,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
  t.teardown(() => browser.close());
  return browser;
}

/**
 * A persistent profile (user data dir) so a test can kill the browser and start it again on the
 * same IndexedDB, as a student's laptop would after a crash.
 */
export async function launchChromiumProfile(t: TapLike, userDataDir: string, options: Parameters<typeof chromium.launchPersistentContext>[1] = {}): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    ...options,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
  t.teardown(() => context.close().catch(() => undefined));
  return context;
}

export interface ChromiumProcess {
  /** The profile's own context (the persistent one): its IndexedDB lives in the user data dir. */
  context: BrowserContext;
  pid: number;
  /** SIGKILL, as a crash or a pulled plug would end it: no unload, no flush of its own. */
  kill(): Promise<void>;
}

/**
 * Chromium started by the test itself on a user data dir, and driven over CDP, so the test holds
 * its process and can SIGKILL it, then start it again on the same profile.
 */
export async function launchChromiumProcess(t: TapLike, userDataDir: string): Promise<ChromiumProcess> {
  const child = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, '--headless=new', '--remote-debugging-port=0', `--user-data-dir=${userDataDir}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`Chromium gave no DevTools endpoint within 30 s: ${text.slice(-500)}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`Chromium exited (${code}) before it listened: ${text.slice(-500)}`)));
  });
  const browser = await chromium.connectOverCDP(endpoint);
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.teardown(kill);
  return { context: browser.contexts()[0]!, pid: child.pid!, kill };
}
