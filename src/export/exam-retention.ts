// What happens to an exported exam's data in Redis afterwards: purged on request, or left to
// expire after export.retainSeconds. Either way the tombstone (meta, close markers) stays.

import { UntradexError } from '../errors.js';
import type { BucketStore } from '../redis/bucket-store.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ExamMetaStore } from './exam-meta.js';

export interface ExamData {
  redis: RedisClient;
  meta: ExamMetaStore;
  store: BucketStore;
  buckets: number;
}

/**
 * Removes an exported exam's data from Redis; answers how many keys went. The exam stays
 * `exported` for good: its meta and the buckets' close markers stay, so a student who connects
 * again is welcomed `closed`, every event is nacked `exam_closed`, and a finalize changes nothing
 * (docs/PROTOCOL.md section 4).
 */
export async function purgeExam(data: ExamData, exam: string): Promise<number> {
  const meta = await data.meta.read(exam);
  if (meta.state !== 'exported') {
    throw new UntradexError('UX_ERR_CONTROL', `exam ${exam} is ${meta.state ?? 'open'}; only an exported exam can be purged`);
  }
  // The counts outlive the data: a report of a purged exam still reads as it was exported.
  if (meta.finalCounts === null) await data.meta.recordFinalCounts(exam, await data.store.examCounts(exam));
  // One command per key, not one pipeline: the keys live in different hash slots on Redis
  // Cluster, and a Cluster pipeline must stay on one node. Commands issued together still go
  // out back to back on each connection.
  const counts = await Promise.all(data.meta.dataKeys(exam, data.buckets).map((key) => data.redis.unlink(key)));
  return counts.reduce((total, count) => total + count, 0);
}

/** Retention: the data expires after `seconds`; the tombstone stays, as with purgeExam(). */
export async function expireExam(data: ExamData, exam: string, seconds: number): Promise<void> {
  // One command per key, as in purgeExam().
  await Promise.all(data.meta.dataKeys(exam, data.buckets).map((key) => data.redis.expire(key, seconds)));
}
