// At start, one short connection to each seed of an external Redis: a wrong password or a TLS
// certificate the client cannot trust stops the start with the config key to fix, not a long wait.

import { Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import { accessOptions, isClusterTarget, type RedisAccess, type RedisTarget } from './redis-client.js';
import type { RedisNode } from './redis-node.js';

/** How long one probe may take to connect; a server that does not answer is left to waitForRedis. */
const PROBE_TIMEOUT_MS = 5_000;

// Node's codes for a server certificate that no configured CA vouches for.
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
const EXPIRED_CERTIFICATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
// Alerts a TLS server sends when it wants a client certificate, or does not trust the one it got.
const CLIENT_CERTIFICATE_ALERT = /^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED|DECRYPT_ERROR)$/;
// What a TLS client reads from a server that answers in plain text.
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_RECORD_LAYER_FAILURE']);

/** One seed to try, and what the messages about it need. */
interface Probe {
  /** `host:port` of the seed, for the message. */
  where: string;
  connect: () => Redis;
  /** The config key that holds the password: the URL, when it carries one, or redis.password. */
  passwordKey: 'redis.password' | 'redis.url';
  access: RedisAccess;
}

/**
 * What `error` (from connecting to `where`) says the operator must change, as a ConfigError naming
 * the key; null when it is not a refusal of Untradex's credentials (a server that is down, say).
 */
export function accessRefusal(error: Error, probe: Pick<Probe, 'where' | 'passwordKey' | 'access'>): ConfigError | null {
  const { where, passwordKey, access } = probe;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const message = error.message;
  const user = access.username ?? 'default';
  if (/^NOAUTH\b/.test(message) && access.password === undefined && passwordKey === 'redis.password') {
    return new ConfigError('redis.password', `Redis at ${where} asks for a password (${message}) and none is set: set redis.password, or UNTRADEX_REDIS_PASSWORD, to the password of user "${user}"`);
  }
  if (/^(WRONGPASS|NOAUTH)\b/.test(message) || /invalid (username-)?password/i.test(message)) {
    return new ConfigError(
      passwordKey,
      `Redis at ${where} refused the password of user "${user}" (${message}). Set ${passwordKey === 'redis.url' ? 'the password in redis.url' : 'redis.password (or UNTRADEX_REDIS_PASSWORD)'} to that user's password` +
        `${access.username === undefined ? ', or redis.username to the ACL user the password belongs to' : ', and check that the user is `on` in the servers\' ACL'}`,
    );
  }
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    return access.tls === undefined
      ? new ConfigError('redis.tls', `Redis at ${where} presented a certificate that no CA of this system vouches for (${message}): set redis.tls.caFile to the CA that signed it`)
      : new ConfigError('redis.tls.caFile', `Redis at ${where} presented a certificate that redis.tls.caFile does not vouch for (${message}): point redis.tls.caFile at the CA certificate that signed the servers' certificates (their tls-cert-file)`);
  }
  if (EXPIRED_CERTIFICATE.has(code)) {
    return new ConfigError('redis.tls', `the certificate of Redis at ${where} is not valid now (${message}): renew the servers' tls-cert-file`);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new ConfigError('redis.tls.servername', `the certificate of Redis at ${where} is not made out to the name Untradex checked (${message}): set redis.tls.servername to a name the certificate carries, or give the servers certificates for the addresses they announce`);
  }
  if (CLIENT_CERTIFICATE_ALERT.test(code)) {
    return new ConfigError(
      'redis.tls.certFile',
      `Redis at ${where} refused the TLS handshake for want of a client certificate it trusts (${/SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? code}): set redis.tls.certFile and keyFile to a certificate signed by a CA in the servers' tls-ca-cert-file, or set \`tls-auth-clients no\` on the servers`,
    );
  }
  if (NOT_TLS.has(code)) {
    return new ConfigError('redis.tls', `Redis at ${where} does not speak TLS on that port (${code}): connect to its tls-port, or set redis.tls to null for a server without TLS`);
  }
  return null;
}

/**
 * What a server that closed the connection after it was opened, without one word of reply, most
 * likely refuses. Under TLS 1.3 a server checks the client's certificate after the client already
 * counts the handshake done, so the refusal reaches the client as an alert or, when the client's
 * AUTH crossed it, as a bare ECONNRESET; and a TLS-only port drops a plain-text client silently.
 */
export function silentCloseRefusal(probe: Pick<Probe, 'where' | 'access'>): ConfigError {
  const { where, access } = probe;
  if (access.tls === undefined) {
    return new ConfigError('redis.tls', `Redis at ${where} closed the connection without answering: it most likely speaks only TLS on that port. Set redis.tls (its caFile, and a client certificate if the servers ask for one)`);
  }
  if (access.tls.cert === undefined) {
    return new ConfigError(
      'redis.tls.certFile',
      `Redis at ${where} closed the connection right after the TLS handshake, without answering: it most likely asks for a client certificate (\`tls-auth-clients yes\`, its default). Set redis.tls.certFile and keyFile to a certificate signed by a CA in the servers' tls-ca-cert-file, or set \`tls-auth-clients no\` on the servers`,
    );
  }
  return new ConfigError('redis.tls.certFile', `Redis at ${where} closed the connection right after the TLS handshake, without answering: it most likely does not trust the client certificate in redis.tls.certFile. Use one signed by a CA in the servers' tls-ca-cert-file`);
}

/** A Redis error reply (`WRONGPASS ...`, `ERR ...`): proof the server answered. */
function isReply(error: Error): boolean {
  return (error as NodeJS.ErrnoException).code === undefined && /^[A-Z][A-Z_]+\b/.test(error.message);
}

/**
 * Connects once, PINGs, and returns the refusal it met, or null: it answered, or it could not be
 * reached, or it did not answer within PROBE_TIMEOUT_MS (a frozen or overloaded server, which
 * waitForRedis then waits for as before).
 */
async function probeOnce(probe: Probe): Promise<ConfigError | null> {
  const redis = probe.connect();
  const seen: Error[] = [];
  let opened = false;
  // ioredis reports a TLS failure as an 'error' event and rejects connect() with only
  // "Connection is closed."; both are kept, and the first that names a refusal counts.
  redis.on('error', (error: Error) => seen.push(error));
  // 'connect': the socket is open (for TLS: the handshake is done, as far as the client knows).
  redis.once('connect', () => (opened = true));
  const ended = new Promise<'ended'>((resolve) => redis.once('end', () => resolve('ended')));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, PROBE_TIMEOUT_MS, 'timeout')));
  try {
    const attempt = redis.connect().then(() => redis.ping()).then(
      () => 'answered' as const,
      (error: unknown) => {
        seen.push(error as Error);
        // The socket's own error comes before ioredis gives up on it, but wait for the end so a
        // late one is not missed.
        return ended;
      },
    );
    if ((await Promise.race([attempt, timedOut])) !== 'ended') return null;
    for (const candidate of seen) {
      const refusal = accessRefusal(candidate, probe);
      if (refusal !== null) return refusal;
    }
    return opened && !seen.some(isReply) ? silentCloseRefusal(probe) : null;
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

const PROBE_OPTIONS = {
  lazyConnect: true,
  enableOfflineQueue: false,
  enableReadyCheck: false,
  maxRetriesPerRequest: 0,
  retryStrategy: () => null,
  connectTimeout: PROBE_TIMEOUT_MS,
  connectionName: 'untradex:access-check',
} as const;

function probesOf(target: RedisTarget): Probe[] {
  const { username, password, tls } = target;
  const access: RedisAccess = { ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }), ...(tls === undefined ? {} : { tls }) };
  const options = { ...PROBE_OPTIONS, ...accessOptions(access) };
  if (isClusterTarget(target)) {
    return target.cluster.map((node: RedisNode) => ({
      where: `${node.host}:${node.port}`,
      connect: () => new Redis({ ...options, host: node.host, port: node.port }),
      passwordKey: 'redis.password',
      access,
    }));
  }
  if ('url' in target) {
    const url = new URL(target.url, 'redis://placeholder');
    const passwordKey = url.password !== '' ? 'redis.url' : 'redis.password';
    return [{ where: url.host || target.url, connect: () => new Redis(target.url, options), passwordKey, access: passwordKey === 'redis.url' ? { ...access, password: url.password } : access }];
  }
  return [{ where: `${target.host}:${target.port}`, connect: () => new Redis({ ...options, host: target.host, port: target.port }), passwordKey: 'redis.password', access }];
}

/**
 * Probes every seed (one server, or each seed of a Cluster) at once and throws the first refusal:
 * a Cluster node that refuses what another accepts has a different ACL or certificate, and the
 * writes to its shard would fail until someone fixes it. Seeds that are down are not decided
 * here; waitForRedis waits for them as before.
 */
export async function checkRedisAccess(target: RedisTarget): Promise<void> {
  const refusals = await Promise.all(probesOf(target).map(probeOnce));
  const refusal = refusals.find((found) => found !== null);
  if (refusal !== undefined && refusal !== null) throw refusal;
}
