// V8 settings every Untradex server process takes before anything else runs: imported first by the
// `untradex` bin and by a forked gateway process; worker threads share their process's V8 flags.

import { setFlagsFromString } from 'node:v8';

/**
 * V8's memory reducer runs major collections on a timer while a heap looks idle, to hand memory
 * back. A gateway holding thousands of silent students looks idle to it, and those collections
 * (with their concurrent marking) were a third of what holding 3,000 of them cost: docs/TUNING.md
 * measured 1.9-3.2% of a core with it and 1.6-2.05% without. The heap a connect spike grew is the
 * heap the submit spike needs, so a gateway keeps it (8.1-9.3 KiB per socket instead of 6.4-6.7).
 * `node --memory-reducer dist/app/cli/main.js` keeps V8's default; Node refuses the flag in
 * NODE_OPTIONS.
 */
export const MEMORY_REDUCER_FLAG = '--no-memory-reducer';

export function applyServerV8Flags(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => arg === '--memory-reducer' || arg === '--no-memory-reducer')) return false;
  setFlagsFromString(MEMORY_REDUCER_FLAG);
  return true;
}

applyServerV8Flags();
