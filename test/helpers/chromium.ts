// Debian's Chromium driven by playwright-core, for the browser tests: no browser download (this
// project's machines reach only the npm and Debian registries), the flags a closed network needs.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 * A fresh user data dir, removed at teardown. Register it before the browsers that use it: tap
 * runs teardowns last-in first-out, so the browsers are gone before their profile is removed.
 */
export async function temporaryProfile(t: TapLike): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'ux-profile-'));
  // Retries cover a file a dying helper process of Chromium writes as the tree is removed.
  t.teardown(() => rm(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
  return profile;
}

/**
 * Chromium started by the test itself on a user data dir, and driven over CDP, so the test holds
 * its process and can SIGKILL it, then start it again on the same profile.
 */
export async function launchChromiumProcess(t: TapLike, userDataDir: string): Promise<ChromiumProcess> {
  // Its own process group, so kill() ends the browser and every helper process it started (the
  // storage and network services write into the profile), as a crash of the machine would.
  const child = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, '--headless=new', '--remote-debugging-port=0', `--user-data-dir=${userDataDir}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.pid === undefined) return;
    if (child.exitCode === null && child.signalCode === null) signalGroup(child.pid, 'SIGKILL');
    await exited;
    await groupGone(child.pid);
  };
  // Registered before anything can fail, so a browser that never listened is still ended.
  t.teardown(kill);
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
  return { context: browser.contexts()[0]!, pid: child.pid!, kill };
}

/** Signals a whole process group; a group already gone is not an error. */
function signalGroup(groupId: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-groupId, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/**
 * Waits until no process of the group is left. SIGKILL is delivered to all of them at once, but
 * they die over a few milliseconds; a profile reused or removed before that sees their last writes.
 */
async function groupGone(groupId: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (signalGroup(groupId, 0)) {
    if (Date.now() > deadline) throw new Error(`Chromium's processes (group ${groupId}) were still there 10 s after SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
