// The scale-out benchmarks' shared setup (issue 6): how many gateway processes, the config that
// runs them on this machine, and the one-process baseline each fleet figure is compared with.

import { envInt } from './sizes.js';

/** Gateway processes the fleet runs: 100,000 sockets over six leaves each ~16,700 of its 19,500 cap. */
export const FLEET_PROCESSES = envInt('UX_BENCH_FLEET_PROCESSES', { small: 2, default: 6 });

/** Per-process cap: under the 20,000 open files each process may hold, Redis connections included. */
export const PROCESS_MAX_CONNECTIONS = 19_500;

export const FLEET_TARGET_SOCKETS = 100_000;

/**
 * One connection actor and one writer per process: six processes already run twelve actor threads
 * and six main threads on two cores; more threads would only add switching.
 */
export function fleetConfig(processes: number): Record<string, unknown> {
  return { gateway: { processes, connectionActors: 1, maxConnections: PROCESS_MAX_CONNECTIONS }, writers: { count: 1 } };
}

/** The one-process baseline: config/default.json as a school's single server runs it. */
export function oneProcessConfig(): Record<string, unknown> {
  return { gateway: { maxConnections: PROCESS_MAX_CONNECTIONS } };
}
