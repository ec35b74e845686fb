#!/usr/bin/env node
// The `untradex` bin (docs/PROTOCOL.md section 9; `npm start` runs its default command, `start`): parses
// the command line and turns every failure into a message on stderr and a non-zero exit code.

// First: V8's flags are read as the heap runs, so they are set before any other module loads.
import '../v8-flags.js';
import { CommanderError } from 'commander';
import { ConfigError, ControlApiError, UntradexError, UsageError } from '../../src/errors.js';
import { buildProgram, withDefaultCommand } from './program.js';

/** Exit codes: 1 something failed (unreachable server, refused token, failed export); 2 bad usage or config. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function fail(message: string, exitCode: number): never {
  process.stderr.write(`untradex: ${message}\n`);
  process.exit(exitCode);
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(withDefaultCommand(process.argv));
  } catch (error) {
    // commander printed the usage error (or the help, or the version) itself.
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    if (error instanceof ConfigError || error instanceof UsageError) fail(error.message, EXIT_USAGE);
    if (error instanceof ControlApiError) fail(error.message, EXIT_FAILED);
    if (error instanceof UntradexError) fail(`${error.code}: ${error.message}`, EXIT_FAILED);
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`untradex: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(EXIT_FAILED);
});
