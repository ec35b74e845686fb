// The fixed-bucket latency histograms: a window of two since-start snapshots, and the bucket bound
// that holds a quantile (what the benchmarks read from /api/status beside the students' figures).

import t from 'tap';
import { HISTOGRAM_SLOTS, histogramSince, quantileBoundMs, readHistogram, recordLatency } from '../../../src/telemetry/latency-histogram.js';

function histogramOf(values: number[], slots = new Float64Array(HISTOGRAM_SLOTS)) {
  for (const ms of values) recordLatency(slots, 0, ms);
  return { slots, snapshot: readHistogram(slots, 0) };
}

t.test('a quantile reads as the upper bound of the bucket that holds it', async (t) => {
  // 98 values of 3 ms (bucket 2.5-5), one of 40 ms (25-50), one of 70 ms (50-100).
  const { snapshot } = histogramOf([...Array.from({ length: 98 }, () => 3), 40, 70]);
  t.equal(quantileBoundMs(snapshot, 0.5), 5);
  t.equal(quantileBoundMs(snapshot, 0.98), 5);
  t.equal(quantileBoundMs(snapshot, 0.99), 50);
  t.equal(quantileBoundMs(snapshot, 1), 100);
  t.equal(quantileBoundMs(snapshot, 0), 5, 'the lowest quantile is the first value, not an empty bucket');
});

t.test('a value above every bound is in the overflow: Infinity; an empty histogram reads 0', async (t) => {
  t.equal(quantileBoundMs(histogramOf([60_000]).snapshot, 0.99), Number.POSITIVE_INFINITY);
  t.equal(quantileBoundMs(histogramOf([]).snapshot, 0.99), 0);
});

t.test('the window between two snapshots holds only what was recorded in between', async (t) => {
  const { slots, snapshot: before } = histogramOf(Array.from({ length: 1000 }, () => 200));
  const { snapshot: after } = histogramOf([1, 2, 0.2], slots);
  const window = histogramSince(before, after);
  t.equal(window.count, 3);
  t.ok(Math.abs(window.sumMs - 3.2) < 1e-6, `sum of the window ${window.sumMs}`);
  t.equal(quantileBoundMs(window, 0.99), 2.5, 'the 1,000 earlier values of 200 ms are not in it');
  t.equal(quantileBoundMs(after, 0.5), 250, 'while the since-start histogram is dominated by them');
});
