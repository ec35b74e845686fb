// Configuration overrides as tests and benchmarks write them (partial objects over config/default.json),
// merged by the loader's own rule so a test's layering means what the loader's does.

import { mergeConfig, type Json } from '../../src/config/load-config.js';

export type Overrides = Record<string, unknown>;

/** Objects merge key by key; anything else in `over` replaces what `base` had (mergeConfig). */
export function mergeOverrides(base: Overrides, over: Overrides): Overrides {
  return mergeConfig(base as Json, over as Json) as Overrides;
}
