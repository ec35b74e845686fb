// Reads one student's last stored answers for the `answers` frame of a resumed hello (PROTOCOL.md
// section 3). Interim: a MATCH scan of the bucket's answer hash, until the per-student index lands.

import type { StoredAnswer } from '../protocol/server-frame.js';
import { bucketKeys } from './bucket-keys.js';
import type { RedisClient } from './redis-client.js';

/** Question -> last stored answer (value and seq), from the `ans` hash's `<seq>,<cts>,<sts>,<value>` format. */
export async function readStudentAnswers(redis: RedisClient, exam: string, bucket: number, student: string): Promise<Map<string, StoredAnswer>> {
  const answers = new Map<string, StoredAnswer>();
  const prefix = `${student}|`;
  // Ids are [A-Za-z0-9_.-]: none of them is a glob character, so the pattern matches the prefix exactly.
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(bucketKeys.ans(exam, bucket), cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const field = flat[i]!;
      const packed = flat[i + 1]!;
      if (!field.startsWith(prefix)) continue;
      const c1 = packed.indexOf(',');
      const c3 = packed.indexOf(',', packed.indexOf(',', c1 + 1) + 1);
      if (c1 < 1 || c3 < 0) continue;
      answers.set(field.slice(prefix.length), { v: packed.slice(c3 + 1), seq: Number(packed.slice(0, c1)) });
    }
    cursor = next;
  } while (cursor !== '0');
  return answers;
}
