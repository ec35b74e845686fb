// How long each part of a graceful stop may take (rule S1), declared together because they bound
// one another; test/unit/supervisors/stop-timeouts.test.ts checks every relation named here.

/** The drain: how long writers get to put what the rings hold into Redis (and connections to ack it). */
export const DRAIN_TIMEOUT_MS = 20_000;

/**
 * Rule S1: every stop ends within the drain time plus 10 s, whatever state the server is in. The
 * CLI (and a gateway process) exits non-zero when this passes; every step below fits inside it.
 */
export const STOP_DEADLINE_MS = DRAIN_TIMEOUT_MS + 10_000;

/** Each step of stopping the trees after the drain (the admin connection's quit, for one). */
export const STOP_STEP_MS = 3_000;

/** How long connections hand out the live writers' last acks when a writer or Redis is gone: far under the drain. */
export const LOST_WRITER_FINISH_MS = 1_000;

/** An actor thread's graceful stop; past it the thread is terminated (supervisors/actor-thread.ts). */
export const ACTOR_STOP_TIMEOUT_MS = 10_000;

/** A connection actor's last presence round, inside its own stop so the thread is not terminated mid-round. */
export const PRESENCE_LEAVE_MS = 1_000;

/**
 * How long a connection actor's stop waits for the clients' replies to its 1001 close frames. A
 * socket the thread's end destroys with unread data (answers still arriving) sends RST, and a
 * client that had not yet read the close frame loses it: it sees 1006 instead of 1001.
 */
export const CLOSE_HANDSHAKE_MS = 1_000;

/** The supervisor's backstop for an actor child: above the thread's own stop, so the thread's force comes first. */
export const ACTOR_SHUTDOWN_MS = ACTOR_STOP_TIMEOUT_MS + 5_000;

/** The embedded redis-server gets SIGTERM, then SIGKILL past this (src/redis/embedded-redis.ts). */
export const REDIS_STOP_TIMEOUT_MS = 10_000;

/** The Redis supervisor's backstop: above redis-server's own stop, so its SIGKILL comes first. */
export const REDIS_SHUTDOWN_MS = REDIS_STOP_TIMEOUT_MS + 2_000;

/** The exporter pool's close() waits this long for running buckets: within the drain time. */
export const EXPORT_CLOSE_TIMEOUT_MS = 15_000;

/**
 * A gateway process gets its whole drain and is then forced, still inside the primary's S1
 * deadline with room for the primary's own last steps (supervisors/gateway-process.ts).
 */
export const GATEWAY_PROCESS_STOP_MS = DRAIN_TIMEOUT_MS + 5_000;

/** The gateway-processes supervisor's backstop: above the process's own stop, so its force comes first. */
export const GATEWAY_PROCESS_SHUTDOWN_MS = GATEWAY_PROCESS_STOP_MS + 10_000;
