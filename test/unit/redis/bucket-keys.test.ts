// The routing hash must give every process the same bucket for a student, forever: pinned vectors.
import t from 'tap';
import { bucketKeys, bucketOf, CHANNEL_CLOSED, CHANNEL_SESSIONS, fnv1a32 } from '../../../src/redis/bucket-keys.js';

t.test('fnv1a32 matches the published FNV-1a 32-bit vectors', async (t) => {
  t.equal(fnv1a32(''), 0x811c9dc5);
  t.equal(fnv1a32('a'), 0xe40c292c);
  t.equal(fnv1a32('foobar'), 0xbf9cf968);
});

t.test('bucketOf hashes `${exam}\\n${student}` (vectors computed independently, in Python)', async (t) => {
  t.equal(fnv1a32('E1\nS1'), 2023349563);
  t.equal(bucketOf('E1', 'S1', 64), 59);
  t.equal(bucketOf('E1', 'S1', 16384), 7483);
  t.equal(bucketOf('exam-2025.final', 'student_000123', 64), 38);
  t.equal(bucketOf('exam-2025.final', 'student_000123', 16384), 13350);
  t.equal(bucketOf('MATH101', 'alice', 7), 2);
  // Not a valid id, but the hash must still be the UTF-8 one, not UTF-16 code units.
  t.equal(bucketOf('é', '😀', 16384), 14268);
  t.equal(fnv1a32('é\n😀'), 1506457532);
  t.equal(bucketOf('E1', 'S1', 1), 0);
});

t.test('a lone surrogate hashes as U+FFFD, the way Buffer.from encodes it', async (t) => {
  t.equal(fnv1a32('x\ud800y'), fnv1a32('x\ufffdy'));
});

t.test('buckets spread students evenly', async (t) => {
  const buckets = 64;
  const students = 64_000;
  const counts = new Array<number>(buckets).fill(0);
  let outOfRange = 0;
  for (let i = 0; i < students; i++) {
    const b = bucketOf('EXAM-1', `S${i}`, buckets);
    if (b >= 0 && b < buckets && Number.isInteger(b)) counts[b] = (counts[b] ?? 0) + 1;
    else outOfRange++;
  }
  t.equal(outOfRange, 0);
  const expected = students / buckets;
  // 1000 per bucket on average: a fair hash keeps every bucket within +-20% (about 6 sigma).
  t.ok(Math.min(...counts) > expected * 0.8, `smallest bucket ${Math.min(...counts)}`);
  t.ok(Math.max(...counts) < expected * 1.2, `largest bucket ${Math.max(...counts)}`);
});

t.test('key names follow docs/ARCHITECTURE.md, with the bucket hash tag', async (t) => {
  t.equal(bucketKeys.log('E1', 3), 'ux:{E1:3}:log');
  t.equal(bucketKeys.ans('E1', 3), 'ux:{E1:3}:ans');
  t.equal(bucketKeys.seq('E1', 3), 'ux:{E1:3}:seq');
  t.equal(bucketKeys.meta('E1'), 'ux:{E1}:meta');
  t.equal(CHANNEL_SESSIONS, 'ux:sessions');
  t.equal(CHANNEL_CLOSED, 'ux:closed');
});
