// Runs a load generator against one benchmark server and always closes it, so a failed phase
// never leaves load processes or sockets behind.

import type { Test } from 'tap';
import { LoadGenerator, type LoadOptions } from '../loadgen/load-generator.js';
import type { BenchServer } from './servers.js';
import { loadProcessesFor, localAddresses } from './sizes.js';

export async function withLoad<T>(
  server: BenchServer,
  options: Pick<LoadOptions, 'students' | 'driver'> & Partial<LoadOptions>,
  fn: (load: LoadGenerator) => Promise<T>,
): Promise<T> {
  const load = await LoadGenerator.start({
    url: server.url,
    secret: server.secret,
    exam: options.exam ?? 'BENCH',
    processes: options.processes ?? loadProcessesFor(options.students),
    localAddresses: options.localAddresses ?? localAddresses(options.students),
    ...options,
  });
  try {
    return await fn(load);
  } finally {
    await load.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** tap's Test: teardown for a benchmark's servers, subtests for each side, comments for its tables. */
export type BenchTest = Test;

/**
 * Runs `fn` in a subtest (so its servers are torn down when it ends) and returns what it returned.
 * Rethrows the subtest's error, so the benchmark stops instead of publishing half a result.
 */
export async function measured<T>(t: BenchTest, name: string, fn: (t: BenchTest) => Promise<T>): Promise<T> {
  const box: { done: boolean; value?: T; error?: unknown } = { done: false, error: new Error(`${name} did not run`) };
  await t.test(name, async (sub) => {
    try {
      box.value = await fn(sub);
      box.done = true;
    } catch (error) {
      box.error = error;
      // Fails the subtest where it happened, then the caller stops: no half result is published.
      sub.error(error);
    }
  });
  if (!box.done) throw box.error;
  return box.value as T;
}
