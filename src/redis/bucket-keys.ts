// The Redis key layout of docs/ARCHITECTURE.md and the routing hash that picks a student's bucket.
// Every key of one bucket shares the hash tag `{<exam>:<bucket>}`, so one FCALL may touch them all on Cluster.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const NEWLINE = 0x0a;

function mix(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, FNV_PRIME) >>> 0;
}

/** Feeds the UTF-8 bytes of `text` into the hash without allocating an encoded copy (hot path). */
function mixUtf8(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 0x80) {
      h = mix(h, cp);
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    // A lone surrogate encodes as U+FFFD, exactly as Buffer.from(text) and TextEncoder do.
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x800) {
      h = mix(h, 0xc0 | (cp >> 6));
    } else if (cp < 0x10000) {
      h = mix(h, 0xe0 | (cp >> 12));
      h = mix(h, 0x80 | ((cp >> 6) & 0x3f));
    } else {
      h = mix(h, 0xf0 | (cp >> 18));
      h = mix(h, 0x80 | ((cp >> 12) & 0x3f));
      h = mix(h, 0x80 | ((cp >> 6) & 0x3f));
    }
    h = mix(h, 0x80 | (cp & 0x3f));
  }
  return h;
}

/** FNV-1a, 32 bits, over the UTF-8 of `text`. */
export function fnv1a32(text: string): number {
  return mixUtf8(FNV_OFFSET, text);
}

/**
 * The bucket of one student of one exam: FNV-1a 32 over the UTF-8 of `${exam}\n${student}`,
 * mod `buckets`. Every process and thread must agree on it, so it depends on nothing else.
 */
export function bucketOf(exam: string, student: string, buckets: number): number {
  const h = mixUtf8(mix(mixUtf8(FNV_OFFSET, exam), NEWLINE), student);
  return h % buckets;
}

/** The kinds of key each bucket has (docs/ARCHITECTURE.md), each below with what it holds. */
export const BUCKET_KEY_KINDS = ['log', 'ans', 'qidx', 'seq', 'closed', 'roster', 'present', 'holders'] as const;
export type BucketKeyKind = (typeof BUCKET_KEY_KINDS)[number];

/** The key of one kind in one bucket: every key of a bucket carries its hash tag `{<exam>:<bucket>}`. */
function bucketKey(kind: BucketKeyKind): (exam: string, bucket: number) => string {
  return (exam, bucket) => `ux:{${exam}:${bucket}}:${kind}`;
}

export const bucketKeys = {
  /** Stream: every stored event of the bucket, the audit log. */
  log: bucketKey('log'),
  /** Hash: `<student>|<question>` to the last answer. */
  ans: bucketKey('ans'),
  /** Hash: `<student>` to the questions it has answers to, `,`-joined: the resume's index into `ans`. */
  qidx: bucketKey('qidx'),
  /** Hash: `<student>` to the session and progress state, plus the `!`-prefixed bucket counters. */
  seq: bucketKey('seq'),
  /**
   * String: exists once finalize closed the bucket. Never purged nor expired: it is what keeps an
   * exported exam closed for good once its data is gone (docs/PROTOCOL.md section 4).
   */
  closed: bucketKey('closed'),
  /**
   * Sorted set, every score 0: the students of the bucket who claimed a session or have a stored
   * event, kept by ux_hello and ux_write; the roster pages through it by name.
   */
  roster: bucketKey('roster'),
  /**
   * Hash: student to `<epoch> <holder>`, the student's live session and the connection actor run
   * (holder) that holds it; written when the session opens, removed when it closes (ux_presence).
   */
  present: bucketKey('present'),
  /**
   * Hash: holder to `<expiry> <serial> <count>`, the heartbeat of each connection actor run with
   * students in the bucket; a student is connected while their entry's holder is alive.
   */
  holders: bucketKey('holders'),
  /** Hash: exam state and export checkpoints; kept after purge as the exam's final state. */
  meta(exam: string): string {
    return `ux:{${exam}}:meta`;
  },
} as const;

/** The keys of the given kinds in one bucket, in that order: a purge's list, a test's slot check. */
export function bucketKeysOf(exam: string, bucket: number, kinds: readonly BucketKeyKind[]): string[] {
  return kinds.map((kind) => bucketKeys[kind](exam, bucket));
}

/**
 * Set: every exam id that has (or had) data in Redis, for the exam list (GET /api/exams) without a
 * scan of the keyspace. Added to when a session of the exam is first claimed by a process and at
 * finalize; never purged, like the exams' tombstones. One key, outside every bucket's hash slot.
 */
export const EXAM_INDEX_KEY = 'ux:exams';

/** ux_hello publishes `${exam}\n${student}\n${epoch}` here so older sessions everywhere step down. */
export const CHANNEL_SESSIONS = 'ux:sessions';
/** ux_close publishes the exam id here when it closes a bucket. */
export const CHANNEL_CLOSED = 'ux:closed';
