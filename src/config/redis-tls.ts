// The files of `redis.tls` (CA, client certificate and key), read and checked once at start, so
// an unreadable or mismatched file stops the start naming its key instead of failing every connect.

import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../errors.js';
import type { RawConfig } from './schema.js';

type RedisTlsFiles = NonNullable<RawConfig['redis']['tls']>;

/** What `redis.tls` names, read: PEM text, which crosses into threads and gateway processes as is. */
export interface RedisTlsMaterial {
  ca: string;
  cert?: string;
  key?: string;
  servername?: string;
}

function readPem(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(key, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Point it at a readable PEM file`);
  }
}

/**
 * The PEM text `redis.tls` names, or null without TLS. Node accepts a CA that is no certificate at
 * all and then trusts nothing, which would surface later as "self-signed certificate" on every
 * connect: a CA file that holds no certificate is refused here instead.
 */
export function readRedisTls(tls: RedisTlsFiles | null): RedisTlsMaterial | null {
  if (tls === null) return null;
  const ca = readPem('redis.tls.caFile', tls.caFile);
  try {
    new X509Certificate(ca);
  } catch (error) {
    throw new ConfigError('redis.tls.caFile', `${tls.caFile} holds no PEM certificate (${(error as Error).message}); it must be the CA certificate that signed the Redis servers' certificates`);
  }
  const material: RedisTlsMaterial = { ca };
  if (tls.certFile != null && tls.keyFile != null) {
    const cert = readPem('redis.tls.certFile', tls.certFile);
    const key = readPem('redis.tls.keyFile', tls.keyFile);
    try {
      createSecureContext({ cert, key }); // throws on a bad PEM or a key that does not match the certificate
    } catch (error) {
      throw new ConfigError('redis.tls.keyFile', `${tls.certFile} and ${tls.keyFile} are not a usable PEM certificate and its key: ${(error as Error).message}`);
    }
    material.cert = cert;
    material.key = key;
  }
  if (tls.servername != null) material.servername = tls.servername;
  return material;
}
