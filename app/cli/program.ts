// The `untradex` command line (docs/PROTOCOL.md section 9) on commander: `start` (the default) runs the
// server; the other commands are clients of its control API, except `check`, which runs before it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { packageRoot } from '../../src/config/load-config.js';
import { isValidId } from '../../src/events/answer-event.js';
import { ControlApiClient } from './control-api-client.js';
import { resolveControlTarget } from './control-target.js';
import { runFinalize } from './commands/finalize.js';
import { runPurge } from './commands/purge.js';
import { runExams, runStatus } from './commands/status.js';
import { runStudents } from './commands/students.js';
import { runTokens } from './commands/tokens.js';

const MAX_TOKEN_TTL_SECONDS = 7 * 24 * 3600;

interface GlobalOptions {
  config?: string;
  url?: string;
  token?: string;
}

const EXAMPLES = `
Examples:
  untradex                                  start Untradex with config/default.json (same as untradex start)
  untradex start --config school.json       start with a config merged over the defaults
  untradex check --config school.json       before the exam: config, Redis durability, the result database
  untradex tokens MATH-1 students.csv > links.csv
                                            one link per student (CSV: student,token,url)
  untradex exams                            every exam: state, students, connected, submitted, events
  untradex students MATH-1 --not-submitted  who has not handed in yet
  untradex finalize MATH-1 --wait           close the exam, export it, follow the progress
  untradex purge MATH-1                     remove an exported exam's data from Redis

Client commands find the server by --url/--token, else UNTRADEX_URL/UNTRADEX_ADMIN_TOKEN, else the
config (--config or UNTRADEX_CONFIG) and the admin token in its dataDir's secrets.json.
Exit codes: 0 done; 1 failed (server unreachable, token refused, export failed, a check failed);
2 bad usage or config.`;

function examId(value: string): string {
  if (!isValidId(value)) throw new InvalidArgumentError('exam ids are 1 to 64 characters of A-Z a-z 0-9 _ . -');
  return value;
}

function ttlSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > MAX_TOKEN_TTL_SECONDS) throw new InvalidArgumentError(`give whole seconds from 1 to ${MAX_TOKEN_TTL_SECONDS}`);
  return seconds;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Global options that take a value: their value is not a command name. */
const VALUE_OPTIONS = new Set(['-c', '--config', '--url', '--token']);

/**
 * `start` when no command is given (npm start, a service unit, `untradex --config x.json`); an
 * unknown command stays an error instead of starting a server. Commander's isDefault would start
 * one for `untradex stauts`.
 */
export function withDefaultCommand(argv: readonly string[]): string[] {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) return [...argv];
    if (['-h', '--help', '-V', '--version'].includes(arg)) return [...argv];
    if (VALUE_OPTIONS.has(arg)) i += 1;
  }
  return [...argv.slice(0, 2), 'start', ...args];
}

export function buildProgram(): Command {
  const program = new Command('untradex')
    .description('Lossless real-time intake of online exam answers, exported in bulk to Oracle, PostgreSQL or SQLite.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('-c, --config <file>', 'JSON config merged over config/default.json (or UNTRADEX_CONFIG)')
    .option('--url <url>', 'control API of a running Untradex, e.g. http://127.0.0.1:8081 (or UNTRADEX_URL)')
    .option('--token <token>', 'admin token (or UNTRADEX_ADMIN_TOKEN); default: the one in <dataDir>/secrets.json')
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError('(untradex --help lists the commands and examples)')
    .exitOverride();
  const api = (command: Command): ControlApiClient => {
    const options = command.optsWithGlobals<GlobalOptions>();
    return new ControlApiClient(resolveControlTarget(options));
  };

  program
    .command('start')
    .description('run Untradex: student gateway, Redis, control API (the default; what npm start runs)')
    .action(async (_options: unknown, command: Command) => {
      // Loaded on demand: the server's modules (actors, supervisors) would only slow the client commands.
      const { runStart } = await import('./commands/start.js');
      await runStart(command.optsWithGlobals<GlobalOptions>().config ?? process.env.UNTRADEX_CONFIG);
    });
  program
    .command('status')
    .description('connections, events/s, ring fill, Redis, disk, the result database, actors')
    .option('--json', 'print the API\'s JSON')
    .action((options: { json?: boolean }, command: Command) => runStatus(api(command), options));
  program
    .command('exams')
    .description('every exam with data: state, students, connected, submitted, events')
    .option('--json', 'print the API\'s JSON')
    .action((options: { json?: boolean }, command: Command) => runExams(api(command), options));
  program
    .command('tokens')
    .description('issue student tokens: reads ids (one per line, or a CSV with a student or student_id column) and writes CSV student,token,url')
    .argument('<exam>', 'exam id', examId)
    .argument('[file]', 'student list; - or none reads stdin')
    .addOption(new Option('--ttl <seconds>', 'how long the tokens are valid').argParser(ttlSeconds).default(14_400, '14400 (4 hours)'))
    .option('--exam-url <url>', 'the exam page students open (default: http(s)://<gateway host>:<port>/exam/ from the config)')
    .action((exam: string, file: string | undefined, options: { ttl: number; examUrl?: string }, command: Command) =>
      runTokens(api(command), exam, file, { ...options, config: command.optsWithGlobals<GlobalOptions>().config }),
    );
  program
    .command('students')
    .description('the roster of an exam: connected, submitted, events, last activity')
    .argument('<exam>', 'exam id', examId)
    .option('--not-submitted', 'only students who have not submitted')
    .option('--not-connected', 'only students who are not connected')
    .addOption(new Option('--format <format>', 'output format (default: table on a terminal, csv otherwise)').choices(['table', 'csv', 'ndjson']))
    .action((exam: string, options: { format?: string; notSubmitted?: boolean; notConnected?: boolean }, command: Command) => runStudents(api(command), exam, options));
  program
    .command('finalize')
    .description('close the exam and export it to the result database (safe to repeat: it resumes)')
    .argument('<exam>', 'exam id', examId)
    .option('--wait', 'follow the export to its end: exit 0 when exported, 1 when it failed')
    .action((exam: string, options: { wait?: boolean }, command: Command) => runFinalize(api(command), exam, options));
  program
    .command('purge')
    .description('remove an exported exam\'s data from Redis (it stays exported)')
    .argument('<exam>', 'exam id', examId)
    .action((exam: string, _options: unknown, command: Command) => runPurge(api(command), exam));
  program
    .command('check')
    .description('before the exam: the config is valid, Redis keeps acked answers, the result database accepts a connection and the tables')
    .action(async (_options: unknown, command: Command) => {
      const { runCheck } = await import('./commands/check.js');
      // Each failed check printed its FAIL line already: only the exit code is left to say it.
      if (!(await runCheck(command.optsWithGlobals<GlobalOptions>().config))) process.exitCode = 1;
    });
  for (const command of program.commands) command.exitOverride().showHelpAfterError(`(untradex ${command.name()} --help shows its usage)`);
  return program;
}
