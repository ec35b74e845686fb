// Student tokens (docs/PROTOCOL.md section 2): `v1.<payload>.<sig>`, HMAC-SHA256 over "v1." + payload.
// Any system holding `auth.secret` can mint them; the gateway verifies each hello with this module.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { TokenError } from '../errors.js';
import { isValidId } from '../events/answer-event.js';

export interface StudentTokenClaims {
  exam: string;
  student: string;
  /** Unix seconds; the token is expired from this second on (now >= expiresAt). */
  expiresAt: number;
}

const PREFIX = 'v1.';
const SIG_BYTES = 32;
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export function mintStudentToken(secret: string, claims: StudentTokenClaims): string {
  // Refuse to sign what verify would refuse: a minted token must always be usable.
  if (!isValidId(claims.exam)) throw new TokenError('malformed', 'cannot mint a token: exam id breaks docs/PROTOCOL.md section 1');
  if (!isValidId(claims.student)) throw new TokenError('malformed', 'cannot mint a token: student id breaks docs/PROTOCOL.md section 1');
  if (!Number.isSafeInteger(claims.expiresAt)) throw new TokenError('malformed', 'cannot mint a token: expiresAt must be an integer (unix seconds)');
  const json = JSON.stringify({ e: claims.exam, s: claims.student, x: claims.expiresAt });
  const payload = Buffer.from(json, 'utf8').toString('base64url');
  return `${PREFIX}${payload}.${sign(secret, payload).toString('base64url')}`;
}

/**
 * Returns the token's claims or throws TokenError ('malformed' | 'signature' | 'expired').
 * Claims are returned as signed: the caller compares the exam with the one it serves.
 * The signature is checked before the payload is parsed, so unsigned input is never interpreted.
 */
export function verifyStudentToken(secret: string, token: string, nowMs: number = Date.now()): StudentTokenClaims {
  if (typeof token !== 'string' || !token.startsWith(PREFIX)) throw malformed('does not start with "v1."');
  const rest = token.slice(PREFIX.length);
  const dot = rest.indexOf('.');
  if (dot < 0 || rest.indexOf('.', dot + 1) >= 0) throw malformed('does not have three parts');
  const payload = rest.slice(0, dot);
  const sigText = rest.slice(dot + 1);
  const payloadBytes = decodeCanonicalBase64url(payload);
  const sig = decodeCanonicalBase64url(sigText);
  if (payloadBytes === null || payloadBytes.length === 0) throw malformed('payload is not canonical base64url');
  if (sig === null || sig.length !== SIG_BYTES) throw malformed('signature is not 32 bytes of canonical base64url');

  if (!timingSafeEqual(sig, sign(secret, payload))) throw new TokenError('signature', 'token signature does not match');

  const claims = parseClaims(payloadBytes);
  if (nowMs >= claims.expiresAt * 1000) throw new TokenError('expired', 'token has expired');
  return claims;
}

function sign(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(PREFIX).update(payload).digest();
}

/**
 * Buffer's base64url decoder skips characters it does not know and accepts padding, '+' and
 * '/'; a token must have exactly one spelling, so the decode is re-encoded and compared.
 */
function decodeCanonicalBase64url(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

function parseClaims(bytes: Buffer): StudentTokenClaims {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Strict.decode(bytes));
  } catch {
    throw malformed('payload is not UTF-8 JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw malformed('payload is not a JSON object');
  const p = parsed as Record<string, unknown>;
  const e = own(p, 'e');
  const s = own(p, 's');
  const x = own(p, 'x');
  if (!isValidId(e)) throw malformed('exam id "e" breaks docs/PROTOCOL.md section 1');
  if (!isValidId(s)) throw malformed('student id "s" breaks docs/PROTOCOL.md section 1');
  if (typeof x !== 'number' || !Number.isInteger(x)) throw malformed('expiry "x" is not an integer');
  return { exam: e, student: s, expiresAt: x };
}

function own(p: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(p, key) ? p[key] : undefined;
}

function malformed(why: string): TokenError {
  return new TokenError('malformed', `malformed token: ${why}`);
}
