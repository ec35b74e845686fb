// The Redis layer on a real 3-primary Redis Cluster: a bucket's keys share one slot, the library
// runs on every primary, writes, counts, closes and reads reach whichever shard holds a bucket.

import t from 'tap';
import { WriteOutcome } from '../../src/events/answer-event.js';
import { lockKey } from '../../src/export/exam-meta.js';
import { BUCKET_KEY_KINDS, bucketKeys, bucketKeysOf, bucketOf } from '../../src/redis/bucket-keys.js';
import { BucketReader } from '../../src/redis/bucket-reader.js';
import { BucketStore, type EventToWrite } from '../../src/redis/bucket-store.js';
import { ExamRoster, parseRosterCursor, type RosterEntry } from '../../src/redis/exam-roster.js';
import { PresenceStore } from '../../src/redis/presence-store.js';
import { fetchLibraryVersion, LIBRARY_VERSION } from '../../src/redis/function-library.js';
import { keySlot } from '../../src/redis/key-slot.js';
import { libraryClient, startTestCluster } from '../helpers/redis-cluster.js';

const BUCKETS = 16;
const EXAM = 'CL-1';

const cluster = await startTestCluster(t, { primaries: 3 });
const redis = await libraryClient(cluster, 'store');
const store = new BucketStore(redis, BUCKETS);

function answerEvent(student: string, epoch: number, seq: number, question: string, value: string): EventToWrite {
  return { student, epoch, seq, kind: 'answer', question, value, clientTs: 1764400000000 + seq, serverTs: 1764400000500 + seq };
}

/** One student per bucket, found by trying ids: the test must reach every bucket. */
function studentPerBucket(exam: string): string[] {
  const found: string[] = [];
  for (let i = 0; found.filter(Boolean).length < BUCKETS; i += 1) {
    const student = `S${i}`;
    const bucket = bucketOf(exam, student, BUCKETS);
    if (found[bucket] === undefined) found[bucket] = student;
  }
  return found;
}

t.test('every key of a bucket hashes to one slot, and the buckets spread over every primary', async (t) => {
  const admin = cluster.nodeClient(cluster.nodes[0]!);
  const slot = async (key: string) => Number(await admin.cluster('KEYSLOT', key));
  const owners = new Set<number>();
  for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
    const keys = bucketKeysOf(EXAM, bucket, BUCKET_KEY_KINDS);
    const slots = new Set(await Promise.all(keys.map(slot)));
    t.equal(slots.size, 1, `bucket ${bucket}: every key of the bucket (${BUCKET_KEY_KINDS.join(', ')}) shares a slot`);
    owners.add((await cluster.primaryOf(keys[0]!)).port);
  }
  t.equal(owners.size, 3, 'the buckets of one exam live on all three primaries');
  t.equal(await slot(bucketKeys.meta(EXAM)), await slot(lockKey(EXAM)), 'meta and the export lease share a slot (one-key eval, one-slot MULTI)');
  const samples = ['', 'a', 'foo', '{user1000}.following', 'foo{}{bar}', 'foo{{bar}}zap', 'é🎓', bucketKeys.seq('Ex-1', 63), bucketKeys.meta(EXAM)];
  for (const key of samples) t.equal(keySlot(key), await slot(key), `keySlot agrees with CLUSTER KEYSLOT for ${JSON.stringify(key)}`);
});

t.test('the function library is loaded on every primary', async (t) => {
  const primaries = redis.nodes('master');
  t.equal(primaries.length, 3);
  for (const node of primaries) t.equal(await fetchLibraryVersion(node), LIBRARY_VERSION, `${node.options.port} runs the library`);
});

t.test('claims, writes and dedupe work on every shard; counts sum over the shards', async (t) => {
  const students = studentPerBucket(EXAM);
  for (const student of students) {
    const claim = await store.claimSession(EXAM, student);
    t.same(claim, { stale: false, epoch: 1, lastSeq: 0, submitted: false, closed: false }, `${student} claims a session`);
  }
  const writes = students.map((student) => store.writeBatch(EXAM, bucketOf(EXAM, student, BUCKETS), [answerEvent(student, 1, 1, 'Q1', 'A'), answerEvent(student, 1, 2, 'Q1', 'B')]));
  for (const outcomes of await Promise.all(writes)) t.same(outcomes, [WriteOutcome.Stored, WriteOutcome.Stored]);
  const again = await store.writeBatch(EXAM, bucketOf(EXAM, students[3]!, BUCKETS), [answerEvent(students[3]!, 1, 2, 'Q1', 'B')]);
  t.same(again, [WriteOutcome.Duplicate], 'a resent event is a duplicate on its shard too');
  t.same(await store.examCounts(EXAM), { students: BUCKETS, events: 2 * BUCKETS, closedBuckets: 0, submitted: 0, connected: 0 });
  t.equal((await store.claimSession(EXAM, students[5]!)).lastSeq, 2, 'a new session learns lastSeq from the shard');
});

t.test('closing an exam closes the buckets on every shard, and later writes get EXAM_CLOSED', async (t) => {
  const exam = 'CL-2';
  const students = studentPerBucket(exam);
  for (const student of students) await store.claimSession(exam, student);
  await store.closeExam(exam);
  await store.closeExam(exam);
  t.equal((await store.examCounts(exam)).closedBuckets, BUCKETS);
  const outcomes = await Promise.all(students.map((student) => store.writeBatch(exam, bucketOf(exam, student, BUCKETS), [answerEvent(student, 1, 1, 'Q', 'late')])));
  t.ok(outcomes.every(([outcome]) => outcome === WriteOutcome.ExamClosed), 'every shard refuses');
});

t.test('BucketReader reads every bucket back from the shard that holds it', async (t) => {
  const exam = 'CL-3';
  const students = studentPerBucket(exam);
  for (const student of students) {
    await store.claimSession(exam, student);
    await store.writeBatch(exam, bucketOf(exam, student, BUCKETS), [
      answerEvent(student, 1, 1, 'Q1', `${student}-1`),
      answerEvent(student, 1, 2, 'Q2', `${student}-2`),
      { student, epoch: 1, seq: 3, kind: 'submit', question: null, value: null, clientTs: null, serverTs: 1764400001000 },
    ]);
  }
  let events = 0;
  let answers = 0;
  let submissions = 0;
  for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
    const reader = new BucketReader(redis, exam, bucket, 2);
    for await (const rows of reader.events()) {
      events += rows.length;
      t.ok(rows.every((row) => bucketOf(exam, row.studentId, BUCKETS) === bucket));
    }
    for await (const rows of reader.answers()) answers += rows.length;
    for await (const rows of reader.submissions()) submissions += rows.length;
  }
  t.same({ events, answers, submissions }, { events: 3 * BUCKETS, answers: 2 * BUCKETS, submissions: BUCKETS });
});

t.test('submitted, presence, the roster and the exam list work across the shards', async (t) => {
  const exam = 'CL-4';
  const students = studentPerBucket(exam);
  const presence = new PresenceStore(redis, 60_000);
  const now = Date.now();
  for (const [index, student] of students.entries()) {
    await store.claimSession(exam, student);
    const events: EventToWrite[] = [answerEvent(student, 1, 1, 'Q1', 'A')];
    if (index % 2 === 0) events.push({ student, epoch: 1, seq: 2, kind: 'submit', question: null, value: null, clientTs: null, serverTs: 1764400001000 });
    await store.writeBatch(exam, bucketOf(exam, student, BUCKETS), events);
  }
  // Every bucket's presence call goes to the shard of that bucket, all issued together.
  await Promise.all(
    students.map((student, index) =>
      presence.apply({ exam, bucket: bucketOf(exam, student, BUCKETS), holder: `H${index}`, serial: 1, expiresAt: now + 10_000, join: index % 4 === 0 ? [{ student, epoch: 1 }] : [], leave: [] }, now),
    ),
  );
  t.match(await store.examCounts(exam, now), { students: BUCKETS, submitted: BUCKETS / 2, connected: BUCKETS / 4 });
  const roster = new ExamRoster(redis, BUCKETS);
  const seen: RosterEntry[] = [];
  let cursor: string | null = null;
  do {
    const page = await roster.page(exam, 3, cursor === null ? undefined : parseRosterCursor(cursor, BUCKETS)!, now);
    seen.push(...page.students);
    cursor = page.cursor;
  } while (cursor !== null);
  t.same(seen.map((entry) => entry.student).sort(), [...students].sort(), 'the roster reaches every shard, each student once');
  t.equal(seen.filter((entry) => entry.connected).length, BUCKETS / 4);
  t.ok((await store.examIndex.list()).includes(exam), 'the exam index lives on one shard and lists the exam');
});
