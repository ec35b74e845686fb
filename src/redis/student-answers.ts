// Reads one student's last stored answers for the `answers` frame of a resumed hello (docs/PROTOCOL.md
// section 3): the student's field of the bucket's question index, then only their answer fields.

import type { StoredAnswer } from '../protocol/server-frame.js';
import { bucketKeys } from './bucket-keys.js';
import type { RedisClient } from './redis-client.js';

/**
 * Question -> last stored answer (value and seq), from the `ans` hash's `<seq>,<cts>,<sts>,<value>`
 * format. Two reads whatever the bucket holds: HGET of the index, HMGET of that student's answers.
 */
export async function readStudentAnswers(redis: RedisClient, exam: string, bucket: number, student: string): Promise<Map<string, StoredAnswer>> {
  const answers = new Map<string, StoredAnswer>();
  const index = await redis.hget(bucketKeys.qidx(exam, bucket), student);
  if (index === null || index === '') return answers;
  const questions = index.split(',');
  const packed = await redis.hmget(bucketKeys.ans(exam, bucket), ...questions.map((question) => `${student}|${question}`));
  questions.forEach((question, i) => {
    const value = packed[i];
    // Purge and retention remove the index with the answers; a field missing here is not an answer.
    if (value === null || value === undefined) return;
    const c1 = value.indexOf(',');
    const c3 = value.indexOf(',', value.indexOf(',', c1 + 1) + 1);
    if (c1 < 1 || c3 < 0) return;
    answers.set(question, { v: value.slice(c3 + 1), seq: Number(value.slice(0, c1)) });
  });
  return answers;
}
