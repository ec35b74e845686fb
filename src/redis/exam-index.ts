// The list of exams that have data in Redis (`ux:exams`), so GET /api/exams needs no scan of the
// keyspace: each process registers an exam once, when it first claims a session of it or finalizes it.

import { isValidId } from '../events/answer-event.js';
import { EXAM_INDEX_KEY } from './bucket-keys.js';
import type { RedisClient } from './redis-client.js';

export class ExamIndex {
  /** Exams this process has registered (or is registering): one SADD per exam per process. */
  private readonly registered = new Map<string, Promise<void>>();

  constructor(private readonly redis: RedisClient) {}

  /** Adds the exam to the index once per process; a failed attempt is tried again next time. */
  register(exam: string): Promise<void> {
    let pending = this.registered.get(exam);
    if (pending === undefined) {
      pending = this.redis.sadd(EXAM_INDEX_KEY, exam).then(
        () => undefined,
        (error: unknown) => {
          this.registered.delete(exam);
          throw error;
        },
      );
      this.registered.set(exam, pending);
    }
    return pending;
  }

  /**
   * Every registered exam, sorted by id. SSCAN in pages rather than one SMEMBERS, so a long history
   * of exams never blocks Redis in one reply. Members that are not valid ids are skipped (nothing
   * of Untradex writes them).
   */
  async list(): Promise<string[]> {
    const exams = new Set<string>();
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(EXAM_INDEX_KEY, cursor, 'COUNT', 500);
      for (const member of members) if (isValidId(member)) exams.add(member);
      cursor = next;
    } while (cursor !== '0');
    return [...exams].sort();
  }
}
