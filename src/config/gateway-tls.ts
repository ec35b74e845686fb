// The gateway's certificate and key (`gateway.tls.certFile` / `keyFile`): read and checked
// together, so a renewal caught half-written keeps the old pair instead of breaking new handshakes.

import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../errors.js';

/** How often the files are polled for a renewal (fs.watchFile: works on every filesystem, and one stat per file per interval). */
export const TLS_RELOAD_INTERVAL_MS = 2_000;

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** Reads both files; throws when they are unreadable or the key does not belong to the certificate. */
export function readTlsFiles(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const pair = { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
  createSecureContext(pair); // throws on a bad PEM or a key that does not match the certificate
  return pair;
}

/** At start: unreadable or mismatched files stop it with a message naming the key. */
export function checkTlsConfig(tls: { certFile: string | null; keyFile: string | null }): void {
  if (tls.certFile === null || tls.keyFile === null) return;
  for (const key of ['certFile', 'keyFile'] as const) {
    try {
      readFileSync(tls[key]!);
    } catch (error) {
      throw new ConfigError(`gateway.tls.${key}`, `cannot read ${tls[key]}: ${(error as Error).message}`);
    }
  }
  try {
    readTlsFiles({ certFile: tls.certFile, keyFile: tls.keyFile });
  } catch (error) {
    throw new ConfigError('gateway.tls.keyFile', `${tls.certFile} and ${tls.keyFile} are not a usable PEM certificate and its key: ${(error as Error).message}`);
  }
}
