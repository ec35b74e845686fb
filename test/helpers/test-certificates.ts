// A throwaway certificate authority and one certificate it signed, made with openssl, for tests of
// TLS to Redis: servers and clients both present the certificate (it is good for either role).

import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  /** The CA certificate: what a client trusts (redis.tls.caFile, tls-ca-cert-file). */
  caFile: string;
  /** A certificate for 127.0.0.1 and localhost signed by that CA, and its key. */
  certFile: string;
  keyFile: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes `<dir>/<name>-ca.crt`, `<name>.crt` and `<name>.key` (EC P-256, valid 2 days). */
export async function makeTestCertificates(dir: string, name = 'redis'): Promise<TestCertificates> {
  await mkdir(dir, { recursive: true });
  const file = (suffix: string) => join(dir, `${name}${suffix}`);
  const caKey = file('-ca.key');
  const caFile = file('-ca.crt');
  const certFile = file('.crt');
  const keyFile = file('.key');
  const csr = file('.csr');
  const extensions = file('.ext');
  await run('openssl', ['req', '-x509', ...EC_KEY, '-days', '2', '-subj', `/CN=${name} test CA`, '-keyout', caKey, '-out', caFile]);
  await run('openssl', ['req', ...EC_KEY, '-subj', `/CN=${name}`, '-keyout', keyFile, '-out', csr]);
  await writeFile(
    extensions,
    ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'basicConstraints=CA:FALSE', 'keyUsage=digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth,clientAuth', ''].join('\n'),
  );
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', extensions, '-out', certFile]);
  return { caFile, certFile, keyFile };
}
