// `untradex tokens <exam> [file]`: reads a student list (a file, or stdin) and writes CSV
// `student,token,url` to stdout, the link being the exam page with the token in its fragment.

import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { readConfig } from '../../../src/config/load-config.js';
import { UsageError } from '../../../src/errors.js';
import type { ControlApiClient } from '../control-api-client.js';
import { csvField, parseStudentList } from '../student-list.js';

/** Ids per POST: a call of 5,000 stays far below control.maxBodyBytes' default of 1 MiB. */
const STUDENTS_PER_CALL = 5_000;

export interface TokensOptions {
  ttl: number;
  examUrl?: string | undefined;
  config?: string | undefined;
}

export async function runTokens(api: ControlApiClient, exam: string, file: string | undefined, options: TokensOptions): Promise<void> {
  const source = file === undefined || file === '-' ? 'stdin' : file;
  if (source === 'stdin' && process.stdin.isTTY === true) {
    throw new UsageError('give the student list as a file (untradex tokens <exam> students.csv) or pipe it in (... < students.csv)');
  }
  const text = source === 'stdin' ? await readStdin() : await readFile(source, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${source} (${error.code ?? error.message}); give the path of the student list`);
  });
  const { students, duplicates } = parseStudentList(text, source);
  const base = options.examUrl ?? examPageUrl(options.config);
  const out: string[] = ['student,token,url'];
  for (let i = 0; i < students.length; i += STUDENTS_PER_CALL) {
    const batch = students.slice(i, i + STUDENTS_PER_CALL);
    const { tokens } = await api.post<{ tokens: Record<string, string> }>(`/api/exams/${encodeURIComponent(exam)}/tokens`, { students: batch, ttlSeconds: options.ttl });
    for (const student of batch) {
      const token = tokens[student];
      if (token === undefined) throw new UsageError(`the control API returned no token for ${student}; nothing was written, run again`);
      out.push(`${csvField(student)},${csvField(token)},${csvField(`${base}#token=${token}`)}`);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
  const note = duplicates > 0 ? ` (${duplicates} repeated id(s) given once)` : '';
  process.stderr.write(`untradex: ${students.length} token(s) for exam ${exam}, valid for ${options.ttl} s${note}\n`);
}

/**
 * The exam page students open (docs/PROTOCOL.md section 7), from the gateway's config: https when it
 * has a certificate, this machine's name when it listens on every address. Pass --exam-url when
 * students reach it by another name (a DNS name, a load balancer).
 */
function examPageUrl(configPath: string | undefined): string {
  const { raw } = readConfig({ path: configPath ?? process.env.UNTRADEX_CONFIG });
  const { host, port, tls } = raw.gateway;
  const name = host === '0.0.0.0' || host === '::' ? hostname() : host.includes(':') ? `[${host}]` : host;
  const scheme = tls.certFile === null ? 'http' : 'https';
  const defaultPort = scheme === 'https' ? 443 : 80;
  return `${scheme}://${name}${port === defaultPort ? '' : `:${port}`}/exam/`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
