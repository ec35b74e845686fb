// The one V8 choice a server process makes about garbage collection: V8's memory reducer off
// (docs/TUNING.md), unless the command line chose. Shared by the entry points and the gateway fork.

/**
 * V8 creates the main isolate's memory reducer before any JavaScript runs, so only the command
 * line turns it off there. With `v8.setFlagsFromString` alone, a `--trace-gc` of a spike's server
 * showed reducing collections in the main isolate; with the flag on the command line, none.
 */
export const MEMORY_REDUCER_OFF = '--no-memory-reducer';
export const MEMORY_REDUCER_ON = '--memory-reducer';

/** The memory reducer flag on a command line, if any (the last one wins, as for node). */
export function memoryReducerChoice(execArgv: readonly string[]): string | undefined {
  return execArgv.filter((arg) => arg === MEMORY_REDUCER_OFF || arg === MEMORY_REDUCER_ON).at(-1);
}

/** The node argument a forked server process starts with: the parent's choice, or off. */
export function memoryReducerArgv(execArgv: readonly string[]): string[] {
  return [memoryReducerChoice(execArgv) ?? MEMORY_REDUCER_OFF];
}
