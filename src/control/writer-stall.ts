// Where a Redis writer's loop is, as its status reports it, and when that means it is stuck: a batch
// that has waited on Redis for long is named in /readyz and `untradex status`, with its connections.

/**
 * idle: waiting for the doorbell; gated: held back by a full disk (rule S3); lingering: letting a
 * burst join the batch; writing: the batch's calls are out to Redis; acking: posting the outcomes;
 * retrying: a failed batch waits before it is sent again.
 */
export type WriterPhase = 'idle' | 'gated' | 'lingering' | 'writing' | 'acking' | 'retrying';

/** What a writer reports of its loop, besides its counters. */
export interface WriterLoopPhase {
  phase: WriterPhase;
  /** How long it has been in that phase, ms. */
  phaseMs: number;
  /** Events of the batch being written or acked (0 when none is). */
  batchEvents: number;
  /** ioredis status of each of the writer's connections (`ready` when it can send). */
  redisConnections: string[];
}

/**
 * A batch normally takes milliseconds (one fsync); one that has been out this long is waiting on a
 * Redis that does not answer, or on a call that never left its connection: either way no student
 * of its rings gets an ack, and an operator must hear of it.
 */
export const WRITER_STALL_MS = 30_000;

/** A readiness reason for a writer whose batch has waited on Redis past WRITER_STALL_MS, else null. */
export function writerStallReason(actorId: string, loop: WriterLoopPhase): string | null {
  if (loop.phase !== 'writing' || loop.phaseMs < WRITER_STALL_MS) return null;
  const seconds = Math.round(loop.phaseMs / 1000);
  return (
    `${actorId} has waited ${seconds} s on Redis for a batch of ${loop.batchEvents} events ` +
    `(its connections: ${loop.redisConnections.join(', ') || 'none'}); their students get no ack until it returns`
  );
}
