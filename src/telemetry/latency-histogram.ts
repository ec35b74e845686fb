// Fixed-bucket latency histograms as plain numbers: recorded with one array increment on the hot
// path (a connection actor's thread), snapshotted into /api/status and summed across actors and processes.

/**
 * Upper bounds of the buckets, ms (Prometheus `le`, in seconds on /metrics). An ack waits for the
 * writer's linger and Redis's fsync, a welcome for the session claim: a few ms on a healthy box,
 * seconds when something is wrong. The last bucket (above 10 s) is the overflow.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** Slots one histogram takes in a Float64Array: a count per bucket and the overflow, then sum and count. */
export const HISTOGRAM_SLOTS = LATENCY_BOUNDS_MS.length + 3;
const SUM = LATENCY_BOUNDS_MS.length + 1;
const COUNT = LATENCY_BOUNDS_MS.length + 2;

/** One histogram as /api/status shows it: counts per bucket (not cumulative), the last one above every bound. */
export interface HistogramSnapshot {
  boundsMs: number[];
  counts: number[];
  count: number;
  sumMs: number;
}

/** Records one value at `offset` of `slots`: a short scan of 14 bounds, an increment, no allocation. */
export function recordLatency(slots: Float64Array, offset: number, ms: number): void {
  let bucket = 0;
  while (bucket < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[bucket]!) bucket += 1;
  slots[offset + bucket]! += 1;
  slots[offset + SUM]! += ms;
  slots[offset + COUNT]! += 1;
}

export function readHistogram(slots: Float64Array, offset: number): HistogramSnapshot {
  return {
    boundsMs: [...LATENCY_BOUNDS_MS],
    counts: Array.from(slots.subarray(offset, offset + LATENCY_BOUNDS_MS.length + 1)),
    sumMs: slots[offset + SUM]!,
    count: slots[offset + COUNT]!,
  };
}

export function emptyHistogram(): HistogramSnapshot {
  return readHistogram(new Float64Array(HISTOGRAM_SLOTS), 0);
}

/** Sums histograms of the same bounds (every actor and process uses LATENCY_BOUNDS_MS). */
export function sumHistograms(parts: readonly (HistogramSnapshot | undefined)[]): HistogramSnapshot {
  const total = emptyHistogram();
  for (const part of parts) {
    if (part === undefined) continue;
    part.counts.forEach((count, bucket) => (total.counts[bucket] = (total.counts[bucket] ?? 0) + count));
    total.count += part.count;
    total.sumMs += part.sumMs;
  }
  return total;
}

/** What `later` counted since `earlier`: two snapshots of the same since-start histogram. */
export function histogramSince(earlier: HistogramSnapshot, later: HistogramSnapshot): HistogramSnapshot {
  return {
    boundsMs: [...later.boundsMs],
    counts: later.counts.map((count, bucket) => count - (earlier.counts[bucket] ?? 0)),
    count: later.count - earlier.count,
    sumMs: later.sumMs - earlier.sumMs,
  };
}

/**
 * The upper bound, ms, of the bucket that holds quantile `q` (0 to 1): the value is at most that.
 * Infinity when it falls in the overflow bucket (above every bound); 0 for an empty histogram.
 */
export function quantileBoundMs(histogram: HistogramSnapshot, q: number): number {
  if (histogram.count === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * histogram.count));
  let seen = 0;
  for (let bucket = 0; bucket < histogram.counts.length; bucket += 1) {
    seen += histogram.counts[bucket]!;
    if (seen >= rank) return histogram.boundsMs[bucket] ?? Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}
