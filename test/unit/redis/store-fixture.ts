// Shared setup for the Redis tests of this folder: a private Redis with the library loaded,
// a BucketStore over it, and a terse builder for events.
import type { Redis } from 'ioredis';
import type { EventKind } from '../../../src/events/answer-event.js';
import { bucketOf } from '../../../src/redis/bucket-keys.js';
import { BucketStore, type EventToWrite } from '../../../src/redis/bucket-store.js';
import { loadFunctionLibrary } from '../../../src/redis/function-library.js';
import { startTestRedis, type TeardownHost, type TestRedis, type TestRedisOptions } from '../../helpers/redis-server.js';

export interface StoreFixture {
  redis: Redis;
  store: BucketStore;
  server: TestRedis;
  buckets: number;
  bucket(exam: string, student: string): number;
}

export async function storeFixture(t: TeardownHost, buckets = 4, opts?: TestRedisOptions): Promise<StoreFixture> {
  const server = await startTestRedis(t, opts);
  const redis = server.client();
  await loadFunctionLibrary(redis);
  return { redis, store: new BucketStore(redis, buckets), server, buckets, bucket: (e, s) => bucketOf(e, s, buckets) };
}

export const SERVER_TS = 1764400000123;

export function ev(
  student: string,
  epoch: number,
  seq: number,
  kind: EventKind,
  question: string | null = null,
  value: string | null = null,
  clientTs: number | null = null,
): EventToWrite {
  return { student, epoch, seq, kind, question, value, clientTs, serverTs: SERVER_TS + seq };
}

export function answer(student: string, epoch: number, seq: number, question: string, value: string): EventToWrite {
  return ev(student, epoch, seq, 'answer', question, value, 1764400000000 + seq);
}
