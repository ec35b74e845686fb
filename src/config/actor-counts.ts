// The "auto" actor counts: how many connection actors and writers one gateway process runs, from
// the cores the machine gives this process (os.availableParallelism()) and gateway.processes.

/** Connection actors one process runs at most by "auto"; past that, more gateway processes serve better. */
const MOST_AUTO_CONNECTION_ACTORS = 8;
/** Cores per writer thread: one writer keeps one Redis busy until many connection actors feed it. */
const CORES_PER_WRITER = 8;

export type ActorCount = number | 'auto';

export interface ActorCounts {
  connectionActors: number;
  writers: number;
}

/**
 * The rule (docs/TUNING.md, "Actor counts"): a process's share of the cores is c = cores / processes.
 * Redis takes a core of its own, each writer another; the rest parse frames, so
 *   writers          = max(1, floor(c / 8))
 *   connectionActors = max(1, c - writers - 1), at most 8.
 * On 2 cores that is 1 and 1: with the actor's own writes (writers.directInFlight) one connection
 * actor measured cheaper in the spike and as fast at saturation as two (docs/TUNING.md); on 8 cores
 * as two processes, 2 and 1 each (config/examples/8-cores.json); on 32 as six, 3 and 1 (32-cores.json).
 * A number in the config is kept as it is.
 */
export function resolveActorCounts(counts: { connectionActors: ActorCount; writers: ActorCount }, cores: number, processes: number): ActorCounts {
  const share = Math.max(1, Math.floor(Math.max(1, cores) / Math.max(1, processes)));
  const writers = counts.writers === 'auto' ? Math.max(1, Math.floor(share / CORES_PER_WRITER)) : counts.writers;
  const connectionActors =
    counts.connectionActors === 'auto' ? Math.min(MOST_AUTO_CONNECTION_ACTORS, Math.max(1, share - writers - 1)) : counts.connectionActors;
  return { connectionActors, writers };
}
