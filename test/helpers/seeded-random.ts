// The one seeded generator (mulberry32) of the tests, so a failing randomized run can be replayed
// with its seed: whole 32-bit numbers for byte-level fixtures, or uniform numbers in [0, 1).

/** Uniform 32-bit unsigned integers. */
export function seededUint32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return (x ^ (x >>> 14)) >>> 0;
  };
}

/** Uniform numbers in [0, 1). */
export function seededUnit(seed: number): () => number {
  const next = seededUint32(seed);
  return () => next() / 4294967296;
}
