// The LMS snippets of docs/PROTOCOL.md section 2 mint tokens the gateway accepts: the Python one is
// run as written (and the PHP one where php exists; else its steps in Node), checked by the verifier.

import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { verifyStudentToken } from '../../../src/auth/student-token.js';
import { packageRoot } from '../../../src/config/load-config.js';
import { TokenError } from '../../../src/errors.js';

const doc = readFileSync(join(packageRoot(), 'docs', 'PROTOCOL.md'), 'utf8');
/** A secret of the shape Untradex generates (base64url of 32 bytes), used as text, as the server does. */
const SECRET = 'kq3V9x-8pZ_rT2mWc4LbN7yHd1sJf6Ae0gUoQiXvBnY';
/** A fixed "now" for the snippets' clocks, so two languages can be compared token for token. */
const NOW_SECONDS = 1_900_000_000;
const TTL = 14_400;

function firstBlock(language: string): string {
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)\\n```').exec(doc);
  if (match === null) throw new Error(`docs/PROTOCOL.md has no ${language} block`);
  return match[1]!;
}

function installed(command: string): boolean {
  return spawnSync(command, ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Runs the Python block as a module (its __main__ part stays out) with time.time() pinned. */
function mintWithPython(exam: string, student: string): string {
  const harness = [
    'import sys, types',
    "ns = {'__name__': 'lms'}",
    'exec(sys.stdin.read(), ns)',
    `ns['time'] = types.SimpleNamespace(time=lambda: ${NOW_SECONDS}.25)`,
    `print(ns['mint_token'](${JSON.stringify(SECRET)}, ${JSON.stringify(exam)}, ${JSON.stringify(student)}, ${TTL}))`,
  ].join('\n');
  const run = spawnSync('python3', ['-c', harness], { input: firstBlock('python'), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return run.stdout.trim();
}

/** Runs the first PHP block with php; null when php is not installed. */
function mintWithPhp(exam: string, student: string): string | null {
  if (!installed('php')) return null;
  const code = firstBlock('php').replace(/^<\?php\s*/, '');
  const script = `${code}\necho untradex_mint_token(${JSON.stringify(SECRET)}, ${JSON.stringify(exam)}, ${JSON.stringify(student)}, ${TTL} - (time() - ${NOW_SECONDS}));`;
  const run = spawnSync('php', ['-r', script], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`php failed: ${run.stderr}`);
  return run.stdout.trim();
}

/** The lines of the PHP block that mintLikePhp mirrors. */
const PHP_STEPS = [
  "return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');",
  "$payload = untradex_b64url(json_encode(['e' => $exam, 's' => $student, 'x' => time() + $ttlSeconds]));",
  "$signature = hash_hmac('sha256', 'v1.' . $payload, $secret, true);",
  "return 'v1.' . $payload . '.' . untradex_b64url($signature);",
];

/** The PHP block's steps, one for one: json_encode, base64_encode, strtr('+/', '-_'), rtrim('='), hash_hmac raw. */
function mintLikePhp(exam: string, student: string): string {
  const b64url = (bytes: Buffer) => bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const json = `{"e":${JSON.stringify(exam)},"s":${JSON.stringify(student)},"x":${NOW_SECONDS + TTL}}`;
  const payload = b64url(Buffer.from(json, 'utf8'));
  const signature = createHmac('sha256', Buffer.from(SECRET, 'utf8')).update(`v1.${payload}`).digest();
  return `v1.${payload}.${b64url(signature)}`;
}

function refusal(token: string, secret: string, nowMs: number): string | null {
  try {
    verifyStudentToken(secret, token, nowMs);
    return null;
  } catch (error) {
    if (error instanceof TokenError) return error.reason;
    throw error;
  }
}

const BEFORE_EXPIRY_MS = (NOW_SECONDS + TTL - 1) * 1000;
const AT_EXPIRY_MS = (NOW_SECONDS + TTL) * 1000;
const STUDENTS: Array<[string, string]> = [
  ['MATH-101', 'S-0042'],
  ['e', 's'],
  ['x'.repeat(64), 'y.z_-9'],
];

t.test('the Python snippet mints tokens the gateway accepts', { skip: installed('python3') ? false : 'python3 is not installed: the Python snippet is not checked' }, async (t) => {
  for (const [exam, student] of STUDENTS) {
    const token = mintWithPython(exam, student);
    t.same(verifyStudentToken(SECRET, token, BEFORE_EXPIRY_MS), { exam, student, expiresAt: NOW_SECONDS + TTL }, `${exam}/${student}`);
    t.equal(refusal(token, `${SECRET}x`, BEFORE_EXPIRY_MS), 'signature', 'another secret is refused');
    t.equal(refusal(token, SECRET, AT_EXPIRY_MS), 'expired', 'expired at x');
  }
});

t.test('the PHP snippet mints tokens the gateway accepts', async (t) => {
  for (const [exam, student] of STUDENTS) {
    const fromPhp = mintWithPhp(exam, student);
    if (fromPhp === null) {
      t.comment('php is not installed: checking the PHP snippet\'s steps done in Node instead');
      // The Node steps stand for the snippet only while the snippet says exactly these.
      for (const step of PHP_STEPS) t.ok(firstBlock('php').includes(step), `the PHP snippet has: ${step}`);
    }
    const token = fromPhp ?? mintLikePhp(exam, student);
    t.same(verifyStudentToken(SECRET, token, BEFORE_EXPIRY_MS), { exam, student, expiresAt: NOW_SECONDS + TTL }, `${exam}/${student}`);
    t.equal(refusal(token, SECRET, AT_EXPIRY_MS), 'expired', 'expired at x');
  }
});

t.test('Python and PHP give the same token for the same claims', { skip: installed('python3') ? false : 'python3 is not installed' }, async (t) => {
  t.equal(mintWithPython('MATH-101', 'S-0042'), mintWithPhp('MATH-101', 'S-0042') ?? mintLikePhp('MATH-101', 'S-0042'));
});
