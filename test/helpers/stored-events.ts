// Reads back what Redis holds for an exam, straight from the bucket log streams, so tests can
// compare the stored events with what students were acked.

import { bucketKeys } from '../../src/redis/bucket-keys.js';
import type { RedisClient } from '../../src/redis/redis-client.js';

export interface StoredEvent {
  student: string;
  seq: number;
  kind: string;
  question: string;
  value: string;
}

/** Stored events per student, in the order the log holds them. */
export async function storedEventsByStudent(redis: RedisClient, exam: string, buckets: number): Promise<Map<string, StoredEvent[]>> {
  const byStudent = new Map<string, StoredEvent[]>();
  for (let bucket = 0; bucket < buckets; bucket += 1) {
    const entries = await redis.xrange(bucketKeys.log(exam, bucket), '-', '+');
    for (const [, fields] of entries) {
      const record: Record<string, string> = {};
      for (let index = 0; index < fields.length; index += 2) record[fields[index]!] = fields[index + 1]!;
      const event = { student: record.s!, seq: Number(record.seq), kind: record.k!, question: record.q ?? '', value: record.v ?? '' };
      const list = byStudent.get(event.student) ?? [];
      list.push(event);
      byStudent.set(event.student, list);
    }
  }
  return byStudent;
}
