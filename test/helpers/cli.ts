// Runs the real `untradex` bin (dist/app/cli/main.js) as a child process, asynchronously: the test
// process may host the Untradex it talks to, whose event loop must keep running meanwhile.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/config/load-config.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to the environment; UNTRADEX_* variables of the test's own environment are removed first. */
  env?: Record<string, string>;
  /** Written to stdin, then stdin is closed (stdin is always closed: a command never waits on a terminal). */
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

export const CLI_PATH = join(packageRoot(), 'dist', 'app', 'cli', 'main.js');

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('UNTRADEX_')) env[key] = value;
  Object.assign(env, options.env ?? {});
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env, cwd: options.cwd ?? packageRoot(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`untradex ${args.join(' ')} did not end within ${options.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
