// V8 settings a server process takes before anything else runs, when node's command line did not:
// imported first by the `untradex` bin and by a forked gateway process.

import { setFlagsFromString } from 'node:v8';
import { MEMORY_REDUCER_OFF, memoryReducerChoice } from '../src/actor-runtime/memory-reducer.js';

/**
 * V8's memory reducer runs major collections on a timer while a heap looks idle, to hand memory
 * back. A gateway holding thousands of silent students looks idle to it; docs/TUNING.md measured
 * holding 3,000 of them at 1.9-3.2% of a core with it and 1.6-2.05% without. The heap a connect
 * spike grew is the heap the submit spike needs, so a gateway keeps it (8.1-9.3 KiB per socket
 * instead of 6.4-6.7). `npm start`, deploy/untradex.service and the gateway fork put the flag on
 * node's command line, which is the only place it reaches the main isolate
 * (src/actor-runtime/memory-reducer.ts); set here, it reaches the worker threads started later.
 * `node --memory-reducer dist/app/cli/main.js` keeps V8's default; Node refuses the flag in
 * NODE_OPTIONS.
 */
export function applyServerV8Flags(execArgv: readonly string[] = process.execArgv): boolean {
  if (memoryReducerChoice(execArgv) !== undefined) return false;
  setFlagsFromString(MEMORY_REDUCER_OFF);
  return true;
}

applyServerV8Flags();
