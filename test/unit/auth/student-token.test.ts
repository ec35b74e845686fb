// Student tokens against docs/PROTOCOL.md section 2: a vector computed with openssl, forgeries,
// expiry, and every malformed shape, asserting TokenError.reason and code, never messages.

import { createHmac } from 'node:crypto';
import t from 'tap';
import { TokenError } from '../../../src/errors.js';
import { mintStudentToken, verifyStudentToken } from '../../../src/auth/student-token.js';

const SECRET = 'correct horse battery staple';
const CLAIMS = { exam: 'EXAM_2025.final', student: 's-0042', expiresAt: 1764403600 };
// Computed outside Node with:
//   P=$(printf '%s' '{"e":"EXAM_2025.final","s":"s-0042","x":1764403600}' | openssl base64 -A | tr '+/' '-_' | tr -d '=')
//   printf '%s' "v1.$P" | openssl dgst -sha256 -hmac 'correct horse battery staple' -binary | openssl base64 -A | tr '+/' '-_' | tr -d '='
const VECTOR =
  'v1.eyJlIjoiRVhBTV8yMDI1LmZpbmFsIiwicyI6InMtMDA0MiIsIngiOjE3NjQ0MDM2MDB9.5cwTGKo1ey_7ykwGvZ8V7BX5QuHLMq2zxDQA9slYtuU';
const BEFORE_EXPIRY_MS = CLAIMS.expiresAt * 1000 - 1;

/** Signs any payload text the way section 2 says, independently of the module under test. */
function signedToken(payloadJson: string | Buffer, secret = SECRET): string {
  const payload = Buffer.from(payloadJson).toString('base64url');
  const sig = createHmac('sha256', secret).update(`v1.${payload}`).digest('base64url');
  return `v1.${payload}.${sig}`;
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof TokenError && error.code === 'UX_ERR_TOKEN') return error.reason;
    throw error;
  }
  return 'accepted';
}

t.test('the openssl vector: mint reproduces it and verify returns its claims', async (t) => {
  t.equal(mintStudentToken(SECRET, CLAIMS), VECTOR);
  t.same(verifyStudentToken(SECRET, VECTOR, BEFORE_EXPIRY_MS), CLAIMS);
  t.equal(signedToken('{"e":"EXAM_2025.final","s":"s-0042","x":1764403600}'), VECTOR, 'the test signer agrees too');
});

t.test('expiry: expired from the second x on (now >= x)', async (t) => {
  t.equal(reasonOf(() => verifyStudentToken(SECRET, VECTOR, CLAIMS.expiresAt * 1000)), 'expired');
  t.equal(reasonOf(() => verifyStudentToken(SECRET, VECTOR, CLAIMS.expiresAt * 1000 + 3_600_000)), 'expired');
  t.equal(reasonOf(() => verifyStudentToken(SECRET, VECTOR, BEFORE_EXPIRY_MS)), 'accepted');
  const fresh = mintStudentToken(SECRET, { ...CLAIMS, expiresAt: Math.floor(Date.now() / 1000) + 60 });
  t.equal(reasonOf(() => verifyStudentToken(SECRET, fresh)), 'accepted', 'now defaults to Date.now()');
  t.equal(reasonOf(() => verifyStudentToken(SECRET, signedToken('{"e":"E","s":"S","x":-5}'), 0)), 'expired');
});

t.test('forged and wrong-secret tokens fail on the signature', async (t) => {
  t.equal(reasonOf(() => verifyStudentToken('another secret', VECTOR, BEFORE_EXPIRY_MS)), 'signature');
  const [, payload, sig] = VECTOR.split('.') as [string, string, string];
  // A different, still canonical last-but-one signature character.
  const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
  t.equal(reasonOf(() => verifyStudentToken(SECRET, `v1.${payload}.${flipped}`, BEFORE_EXPIRY_MS)), 'signature');
  // The payload of another student under the original signature.
  const other = Buffer.from('{"e":"EXAM_2025.final","s":"s-0043","x":1764403600}').toString('base64url');
  t.equal(reasonOf(() => verifyStudentToken(SECRET, `v1.${other}.${sig}`, BEFORE_EXPIRY_MS)), 'signature');
  // A token signed with another secret for a far future expiry.
  const forged = signedToken('{"e":"EXAM_2025.final","s":"s-0042","x":4102444800}', 'guess');
  t.equal(reasonOf(() => verifyStudentToken(SECRET, forged, BEFORE_EXPIRY_MS)), 'signature');
});

t.test("another exam's token verifies; the caller compares the exam", async (t) => {
  const token = mintStudentToken(SECRET, { exam: 'OTHER-EXAM', student: 's-0042', expiresAt: CLAIMS.expiresAt });
  t.same(verifyStudentToken(SECRET, token, BEFORE_EXPIRY_MS), { exam: 'OTHER-EXAM', student: 's-0042', expiresAt: CLAIMS.expiresAt });
});

t.test('unknown payload fields are ignored', async (t) => {
  const token = signedToken('{"x":1764403600,"s":"S1","e":"E1","role":"admin"}');
  t.same(verifyStudentToken(SECRET, token, BEFORE_EXPIRY_MS), { exam: 'E1', student: 'S1', expiresAt: 1764403600 });
});

t.test('malformed structure and encodings', async (t) => {
  const [, payload, sig] = VECTOR.split('.') as [string, string, string];
  t.ok(sig.includes('_'), 'the vector signature has a "_" to turn into "/"');
  const lastSig = sig[sig.length - 1] as string;
  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['no dots', 'v1'],
    ['two parts', `v1.${payload}`],
    ['four parts', `${VECTOR}.x`],
    ['version 2', `v2.${payload}.${sig}`],
    ['upper-case version', `V1.${payload}.${sig}`],
    ['empty payload', `v1..${sig}`],
    ['empty signature', `v1.${payload}.`],
    ['padding on the signature', `${VECTOR}=`],
    ['padding on the payload', `v1.${payload}=.${sig}`],
    ['"/" instead of "_"', `v1.${payload}.${sig.replace('_', '/')}`],
    ['"+" (standard base64) in the signature', `v1.${payload}.${sig.replace(/[A-Za-z]/, '+')}`],
    ['a character outside base64url', `v1.${payload}.${sig.slice(0, -1)}!`],
    ['whitespace', ` ${VECTOR}`],
    // 43 characters carry 258 bits; the last 2 must be zero, or the same bytes have several
    // spellings. The last character's index is a multiple of 4, so +1 sets only a trailing bit.
    ['non-zero trailing bits', `v1.${payload}.${sig.slice(0, -1)}${String.fromCharCode(lastSig.charCodeAt(0) + 1)}`],
    ['signature of 31 bytes', `v1.${payload}.${Buffer.alloc(31, 7).toString('base64url')}`],
    ['signature of 33 bytes', `v1.${payload}.${Buffer.alloc(33, 7).toString('base64url')}`],
  ];
  for (const [name, token] of cases) {
    t.equal(reasonOf(() => verifyStudentToken(SECRET, token, BEFORE_EXPIRY_MS)), 'malformed', name);
  }
  t.equal(reasonOf(() => verifyStudentToken(SECRET, 42 as unknown as string, BEFORE_EXPIRY_MS)), 'malformed', 'not a string');
});

t.test('signed but malformed payloads', async (t) => {
  const long = 'a'.repeat(65);
  const cases: Array<[string, string | Buffer]> = [
    ['not JSON', 'hello'],
    ['truncated JSON', '{"e":"E1","s":"S1","x":1'],
    ['an array', '["E1","S1",1764403600]'],
    ['null', 'null'],
    ['a number', '1764403600'],
    ['exam missing', '{"s":"S1","x":1764403600}'],
    ['exam empty', '{"e":"","s":"S1","x":1764403600}'],
    ['exam of 65 chars', `{"e":"${long}","s":"S1","x":1764403600}`],
    ['exam with a space', '{"e":"E 1","s":"S1","x":1764403600}'],
    ['exam with a slash', '{"e":"E/1","s":"S1","x":1764403600}'],
    ['exam not a string', '{"e":1,"s":"S1","x":1764403600}'],
    ['student missing', '{"e":"E1","x":1764403600}'],
    ['student with a colon', '{"e":"E1","s":"S:1","x":1764403600}'],
    ['student non-ASCII', '{"e":"E1","s":"Sé","x":1764403600}'],
    ['x missing', '{"e":"E1","s":"S1"}'],
    ['x a string', '{"e":"E1","s":"S1","x":"1764403600"}'],
    ['x fractional', '{"e":"E1","s":"S1","x":1764403600.5}'],
    ['x null', '{"e":"E1","s":"S1","x":null}'],
    ['x overflowing to Infinity', '{"e":"E1","s":"S1","x":1e400}'],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"e":"E1","s":"S1","x":1764403600,"n":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])],
  ];
  for (const [name, json] of cases) {
    t.equal(reasonOf(() => verifyStudentToken(SECRET, signedToken(json), BEFORE_EXPIRY_MS)), 'malformed', name);
  }
  t.equal(reasonOf(() => verifyStudentToken(SECRET, signedToken(`{"e":"${'a'.repeat(64)}","s":"S1","x":1764403600}`), BEFORE_EXPIRY_MS)), 'accepted', '64-char ids are fine');
});

t.test('mint refuses claims that verify would refuse', async (t) => {
  t.equal(reasonOf(() => mintStudentToken(SECRET, { ...CLAIMS, exam: 'bad exam' })), 'malformed');
  t.equal(reasonOf(() => mintStudentToken(SECRET, { ...CLAIMS, student: '' })), 'malformed');
  t.equal(reasonOf(() => mintStudentToken(SECRET, { ...CLAIMS, expiresAt: 1.5 })), 'malformed');
  t.equal(reasonOf(() => mintStudentToken(SECRET, { ...CLAIMS, expiresAt: Number.NaN })), 'malformed');
});
