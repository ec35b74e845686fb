// The shape of a writer's batch on its way to Redis: its events grouped by (exam, bucket), and the
// groups split into as few ux_write_many calls as the batch's size allows.

import { eventToWrite, type EventToWrite } from '../../src/redis/bucket-store.js';
import type { EventEnvelope } from '../../src/ring/event-record.js';

/** One event of a batch, with the ring (connection actor) its ack goes back to. */
export interface BatchEntry {
  ring: number;
  envelope: EventEnvelope;
}

/** A batch's events of one bucket of one exam, in ring order, beside the entries they came from. */
export interface BucketGroup<Entry extends { envelope: EventEnvelope } = BatchEntry> {
  exam: string;
  bucket: number;
  events: EventToWrite[];
  entries: Entry[];
}

/**
 * Events per ux_write_many call before a batch is spread over more connections: one call for the
 * batches of a moderate load, and a full batch (2,048) in four calls that Redis runs in one pass of
 * its loop (one fsync) without one long call holding up the claims of the connection actors.
 */
export const EVENTS_PER_CALL = 512;

/** Also a connection actor's own call (direct-writes.ts), whose entries carry their session instead of a ring. */
export function groupByBucket<Entry extends { envelope: EventEnvelope }>(batch: readonly Entry[]): BucketGroup<Entry>[] {
  const groups = new Map<string, BucketGroup<Entry>>();
  for (const entry of batch) {
    const { event, bucket } = entry.envelope;
    const key = `${bucket}\u0000${event.exam}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { exam: event.exam, bucket, events: [], entries: [] };
      groups.set(key, group);
    }
    group.events.push(eventToWrite(entry.envelope));
    group.entries.push(entry);
  }
  return [...groups.values()];
}

/**
 * The groups' indices, call by call: a call per EVENTS_PER_CALL events, at most `connections`
 * calls, a bucket never split, the calls filled in order to about the same size.
 */
export function splitIntoCalls(groups: readonly { events: readonly unknown[] }[], connections: number): number[][] {
  const total = groups.reduce((sum, group) => sum + group.events.length, 0);
  const calls: number[][] = [[]];
  const count = Math.min(connections, Math.max(1, Math.ceil(total / EVENTS_PER_CALL)));
  const perCall = Math.ceil(total / count);
  let inCall = 0;
  groups.forEach((group, index) => {
    if (inCall >= perCall && calls.length < count) {
      calls.push([]);
      inCall = 0;
    }
    inCall += group.events.length;
    calls[calls.length - 1]!.push(index);
  });
  return calls;
}
