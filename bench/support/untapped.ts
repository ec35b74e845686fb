// Imported first by every benchmark: tap puts its own module hooks in NODE_OPTIONS, which every
// child process would inherit; the servers and load processes a benchmark measures must run bare.

const options = process.env['NODE_OPTIONS'];
if (options !== undefined) {
  const kept = options
    .split(/\s+/)
    .filter((part) => part !== '' && !part.includes('@tapjs/'))
    .join(' ');
  if (kept === '') delete process.env['NODE_OPTIONS'];
  else process.env['NODE_OPTIONS'] = kept;
}

/** execArgv for worker threads a benchmark starts itself: the process's own, less tap's hooks. */
export const bareExecArgv: string[] = process.execArgv.filter((arg) => !arg.includes('@tapjs/'));
