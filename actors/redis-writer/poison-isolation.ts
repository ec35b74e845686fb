// Finds the event that makes a bucket's write raise (a poison event) by halving the failing part,
// so the writer answers it `bad_event` instead of retrying its whole batch, and every student, forever.

import { UntradexError } from '../../src/errors.js';
import { WriteOutcome } from '../../src/events/answer-event.js';
import type { EventToWrite } from '../../src/redis/bucket-store.js';

/** Writes some events of one bucket in one call; one outcome per event, in order (BucketStore.writeBatch). */
export type WriteEvents = (events: readonly EventToWrite[]) => Promise<WriteOutcome[]>;

export interface IsolatedEvent {
  /** Its index in the events given to isolatePoison. */
  index: number;
  event: EventToWrite;
  /** The last error its write alone raised. */
  error: Error;
}

export interface Isolation {
  /** One per event, in order: the real outcome, or BadEvent for an isolated event. */
  outcomes: WriteOutcome[];
  isolated: IsolatedEvent[];
  /** Write calls made (a figure for the log: the cost of the isolation). */
  calls: number;
}

/**
 * Reply codes that say "ask again later", whatever raised them: a Redis that is loading, out of
 * memory, busy with a script, unable to persist or to replicate, or a Cluster in motion. A
 * batch that gets one is the batch's bad luck, not an event's fault, and is sent again whole.
 */
const TRANSIENT_REPLY_CODES: ReadonlySet<string> = new Set([
  'LOADING', 'BUSY', 'MISCONF', 'OOM', 'NOREPLICAS', 'CLUSTERDOWN', 'TRYAGAIN', 'MOVED', 'ASK', 'READONLY', 'MASTERDOWN',
  'NOSCRIPT', 'UNKILLABLE', 'EXECABORT',
]);

/**
 * Redis 7 ends the message of an error raised while a function ran (by `error()` or by a failing
 * `redis.call`) with where it was raised. A reply without it (`ERR Function not found`, a wrong
 * key count) was refused before ux_write ran, so it cannot be any one event's fault. ux_write_many
 * (several buckets in one call) raises the same way, from the same per-bucket checks.
 */
const RAISED_BY_UX_WRITE = /script: ux_write(?:_many)?, on @user_function:\d+\.?$/;

/**
 * Whether a failed write may be the fault of an event in it: a Redis error reply raised while
 * ux_write ran, with a code that does not say "try again". Connection loss, timeouts, replicas
 * that did not confirm (RedisUnavailableError), malformed replies and every transient code are
 * not: the batch is sent again whole, later, and nobody is nacked for them.
 */
export function isPoisonCandidate(error: unknown): boolean {
  if (!(error instanceof UntradexError) || error.code !== 'UX_ERR_REDIS_SCRIPT') return false;
  const reply = replyErrorIn(error);
  if (reply === null) return false;
  const space = reply.message.indexOf(' ');
  const code = space < 0 ? reply.message : reply.message.slice(0, space);
  return !TRANSIENT_REPLY_CODES.has(code) && RAISED_BY_UX_WRITE.test(reply.message);
}

/**
 * Writes `events` (one bucket's part of a batch whose write raised) so that every event gets an
 * outcome: the whole part alone first, then each half of a part that raises, in order, down to
 * single events. An event whose write alone raises twice is isolated: BadEvent, written never.
 * Halves go in order and the first is settled before the second is sent, so a student's events
 * still reach Redis in seq order, and a poison event's later seqs are stored after it is settled.
 *
 * ux_write checks everything before its first write, so a call that raised wrote nothing, and
 * the halves can be sent again safely. One poison event among n costs about 2·log2(n) + 2 calls.
 *
 * Rejects with the first error that is not a poison candidate (the caller sends the whole batch
 * again later); events written by then come back Duplicate next time, as after a crash.
 */
export async function isolatePoison(events: readonly EventToWrite[], write: WriteEvents): Promise<Isolation> {
  const outcomes = new Array<WriteOutcome>(events.length);
  const isolated: IsolatedEvent[] = [];
  let calls = 0;

  const attempt = async (from: number, to: number): Promise<Error | null> => {
    calls += 1;
    try {
      const written = await write(events.slice(from, to));
      written.forEach((outcome, offset) => (outcomes[from + offset] = outcome));
      return null;
    } catch (error) {
      if (!isPoisonCandidate(error)) throw error;
      return error as Error;
    }
  };

  const settle = async (from: number, to: number): Promise<void> => {
    const error = await attempt(from, to);
    if (error === null) return;
    if (to - from === 1) {
      // Once more alone: an event is named bad only when its failure repeats.
      const again = await attempt(from, to);
      if (again === null) return;
      outcomes[from] = WriteOutcome.BadEvent;
      isolated.push({ index: from, event: events[from]!, error: again });
      return;
    }
    const middle = from + Math.ceil((to - from) / 2);
    await settle(from, middle);
    await settle(middle, to);
  };

  if (events.length > 0) await settle(0, events.length);
  return { outcomes, isolated, calls };
}

function replyErrorIn(error: Error): Error | null {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    if (current.name === 'ReplyError') return current;
    current = current.cause;
  }
  return null;
}
