// Ack-latency histograms: HDR (hdr-histogram-js) in microseconds, shipped between load processes
// as compressed base64 and merged, then summarised in milliseconds (p50, p99, p99.9, max).

import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

/** 1 µs to 10 minutes at 3 significant digits. */
export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a latency given in milliseconds (performance.now() differences). */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** Merges the encoded histograms of every load process into one. */
export function mergeEncoded(encoded: readonly string[]): Histogram {
  const merged = newHistogram();
  for (const text of encoded) {
    if (text === '') continue;
    const part = hdr.decodeFromCompressedBase64(text);
    merged.add(part);
    part.destroy();
  }
  return merged;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export function summarize(histogram: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  if (histogram.totalCount === 0) return { count: 0, p50Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0, meanMs: 0 };
  return {
    count: histogram.totalCount,
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    p999Ms: ms(histogram.getValueAtPercentile(99.9)),
    maxMs: ms(histogram.maxValue),
    meanMs: ms(histogram.mean),
  };
}

export function formatSummary(s: LatencySummary): string {
  return `n=${s.count} p50=${s.p50Ms}ms p99=${s.p99Ms}ms p99.9=${s.p999Ms}ms max=${s.maxMs}ms`;
}
