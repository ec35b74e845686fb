// How often each level of the supervision tree may restart its children before it gives up and
// escalates, and how long it waits before a restart: one table, so the levels are set side by side.

import type { UntradexConfig } from '../src/config/schema.js';
import { growingRestartDelay, type SupervisorFlags } from './supervisor-spec.js';

/** The supervisors of the tree, from the leaves up (docs/ARCHITECTURE.md, the actor tree). */
export type SupervisionLevel = 'writers' | 'gateway' | 'redis' | 'gateway-processes';

type Supervision = UntradexConfig['supervision'];

interface LevelPolicy {
  flags(supervision: Supervision): SupervisorFlags;
  /** Delay before restart number n within the period; none restarts at once. */
  restartDelayMs?: (restartsInPeriod: number) => number;
}

/**
 * The embedded Redis dies of its surroundings (a full disk, a bad AOF) more often than of itself:
 * restarts wait 250 ms, doubling to 8 s, and the supervisor gives up after supervision.intensity
 * restarts within 60 s, about 20 s after the first death with the default of 5. Then the process
 * exits non-zero well within rule S4's 60 s, and a service manager takes over.
 */
const REDIS_RESTART_PERIOD_SECONDS = 60;

const oneForOne = (intensity: number, periodSeconds: number): SupervisorFlags => ({ strategy: 'one_for_one', intensity, periodSeconds });

/**
 * Actor threads restart at once, within `supervision.intensity` per `supervision.periodSeconds`.
 * A gateway process is a whole actor tree: its own supervisors absorb its actors' crashes, so its
 * restarts count only the process dying (its root escalating, or the process killed).
 */
const LEVELS: Record<SupervisionLevel, LevelPolicy> = {
  writers: { flags: (s) => oneForOne(s.intensity, s.periodSeconds) },
  gateway: { flags: (s) => oneForOne(s.intensity, s.periodSeconds) },
  redis: { flags: (s) => oneForOne(s.intensity, Math.max(s.periodSeconds, REDIS_RESTART_PERIOD_SECONDS)), restartDelayMs: growingRestartDelay(250, 8_000) },
  'gateway-processes': { flags: (s) => oneForOne(s.intensity, s.periodSeconds) },
};

/** The supervisor flags of one level under this configuration. */
export function supervisorFlags(level: SupervisionLevel, supervision: Supervision): SupervisorFlags {
  return LEVELS[level].flags(supervision);
}

/** The restart delay of one level's children, where it has one. */
export function restartDelay(level: SupervisionLevel): ((restartsInPeriod: number) => number) | undefined {
  return LEVELS[level].restartDelayMs;
}
