// Runs a fast-check property inside a tap test: the seed is printed on every run, and a failure
// reports the shrunk counterexample with the seed and path that replay it (UX_FC_SEED, UX_FC_PATH).

import fc from 'fast-check';

/** The part of a tap Test this helper needs. */
export interface PropertyHost {
  comment(message: string): void;
  fail(message: string): void;
  pass(message: string): void;
}

export interface PropertyOptions {
  /** How many inputs; UX_FC_RUNS overrides it. */
  numRuns: number;
}

/**
 * Checks `predicate` (true, or no throw, means it holds) on inputs drawn from `arbitrary`. Set
 * UX_FC_SEED (and UX_FC_PATH, printed with a failure) to replay a run exactly.
 */
export function checkProperty<T>(t: PropertyHost, name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => boolean | void, options: PropertyOptions): void {
  const seed = process.env.UX_FC_SEED === undefined ? Date.now() ^ (Math.random() * 0x100000000) : Number(process.env.UX_FC_SEED);
  const path = process.env.UX_FC_PATH;
  const numRuns = process.env.UX_FC_RUNS === undefined ? options.numRuns : Number(process.env.UX_FC_RUNS);
  t.comment(`${name}: seed ${seed}${path === undefined ? '' : `, path ${path}`}, ${numRuns} runs`);
  const details = fc.check(fc.property(arbitrary, predicate), { seed, numRuns, ...(path === undefined ? {} : { path }) });
  if (!details.failed) {
    t.pass(`${name} (${details.numRuns} inputs)`);
    return;
  }
  const replay = `UX_FC_SEED=${details.seed} UX_FC_PATH=${details.counterexamplePath ?? ''}`;
  const error = details.errorInstance instanceof Error ? `: ${details.errorInstance.message}` : '';
  t.fail(`${name} fails on ${fc.stringify(details.counterexample)} (shrunk ${details.numShrinks} times${error}); replay with ${replay}`);
}
