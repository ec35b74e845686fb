// A small tmpfs for disk-full tests: a real filesystem of a few MiB whose free space the test
// controls (fill it, grow it). Needs root and mount(2); where that is refused the test skips loudly.

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TeardownHost } from './redis-server.js';

export interface SmallDisk {
  path: string;
  /** Changes the size in place (mount -o remount,size=...): the files stay. */
  resize(bytes: number): void;
}

/** Mounts a tmpfs of `bytes`; returns null with the reason when this machine does not allow it. */
export async function mountSmallDisk(t: TeardownHost, bytes: number): Promise<SmallDisk | { skip: string }> {
  const path = await mkdtemp(join(tmpdir(), 'ux-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', path], { stdio: 'pipe' });
  } catch (error) {
    await rm(path, { recursive: true, force: true });
    return { skip: `cannot mount a tmpfs here (needs root and mount permission): ${(error as Error).message.split('\n')[0]}` };
  }
  t.teardown(async () => {
    try {
      execFileSync('umount', ['-l', path], { stdio: 'pipe' });
    } catch {
      // already unmounted
    }
    await rm(path, { recursive: true, force: true });
  });
  return {
    path,
    resize(size) {
      execFileSync('mount', ['-o', `remount,size=${size}`, path], { stdio: 'pipe' });
    },
  };
}
