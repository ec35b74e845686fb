// Reads the exam and student out of a student token without checking its signature: the client
// only needs them to name the device's outbox; the server is the one that verifies the token.

export interface TokenClaims {
  exam: string;
  student: string;
}

/** The `e` and `s` of a `v1.<payload>.<sig>` token, or null when it does not parse. */
export function readTokenClaims(token: string): TokenClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== 'v1' || parts[1] === undefined) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    const json: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    if (typeof json !== 'object' || json === null) return null;
    const { e, s } = json as Record<string, unknown>;
    return typeof e === 'string' && typeof s === 'string' ? { exam: e, student: s } : null;
  } catch {
    return null;
  }
}
