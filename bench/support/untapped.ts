// Imported first by every benchmark: tap puts its own module hooks in NODE_OPTIONS, which every
// child process would inherit; the servers and load processes a benchmark measures must run bare.

import processOnSpawn from 'process-on-spawn';

/** NODE_OPTIONS less every option that names one of tap's own modules; undefined when nothing is left. */
export function withoutTapOptions(options: string | undefined): string | undefined {
  if (options === undefined) return undefined;
  const kept = options
    .split(/\s+/)
    .filter((part) => part !== '' && !part.includes('@tapjs/'))
    .join(' ');
  return kept === '' ? undefined : kept;
}

function strip(env: Record<string, string | undefined>): void {
  const kept = withoutTapOptions(env['NODE_OPTIONS']);
  if (kept === undefined) delete env['NODE_OPTIONS'];
  else env['NODE_OPTIONS'] = kept;
}

strip(process.env);

// Cleaning our own environment is not enough: tap's @tapjs/processinfo hooks every spawn (through
// process-on-spawn) and puts its `--import` back into the child's NODE_OPTIONS. Its hook then ran in
// every server a benchmark measured: a module-hooks thread (a second V8 isolate, with its own heap
// and garbage collections) beside each JS thread, and a file written at exit. This listener runs
// after processinfo's (listeners run in the order they were added) and takes the option out again.
export const stripTapOnSpawn = (options: { env: NodeJS.ProcessEnv }): void => {
  const env = { ...options.env };
  strip(env);
  options.env = env;
};
processOnSpawn.addListener(stripTapOnSpawn);

/** execArgv for worker threads a benchmark starts itself: the process's own, less tap's hooks. */
export const bareExecArgv: string[] = process.execArgv.filter((arg) => !arg.includes('@tapjs/'));
