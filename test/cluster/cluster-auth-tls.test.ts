// redis.username, redis.password and redis.tls (issue 10 item 8) on real servers that ask for all
// three: a 3-primary Cluster speaking only TLS, with an ACL user for Untradex and client
// certificates required; students write and finalize exports exactly. A wrong password, a CA that
// did not sign the servers' certificates and a missing client certificate each stop the start
// naming the key to fix. Then the same over one external Redis (redis.url).

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import t from 'tap';
import { bucketKeys } from '../../src/redis/bucket-keys.js';
import { runExamTraffic, waitForExamState } from '../helpers/exam-traffic.js';
import { startTestCluster } from '../helpers/redis-cluster.js';
import { startLoneTestRedis } from '../helpers/redis-node-process.js';
import { assertSqliteResults } from '../helpers/sqlite-results.js';
import { makeTestCertificates } from '../helpers/test-certificates.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

const BUCKETS = 8;
const TRAFFIC = { students: 12, questions: 3, changes: 2, submitEvery: 2 };
/** Small actor trees: these tests are about the connections, not throughput. */
const SMALL = { gateway: { connectionActors: 1 }, writers: { count: 1 }, export: { exporters: 1, chunkSize: 20 } };

const UNTRADEX_ACL = ['resetkeys', '~ux:*', 'resetchannels', '&ux:*', '+@all', '-@dangerous', '+info', '+config|get'];

const secret = () => randomBytes(12).toString('base64url');

t.test('Untradex on a Redis Cluster with an ACL user, a password and TLS', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ux-cluster-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const certificates = await makeTestCertificates(join(dir, 'tls'), 'redis');
  const stranger = await makeTestCertificates(join(dir, 'tls'), 'stranger');
  // The least-privilege user docs/REDIS-CLUSTER.md gives: Untradex's keys and channels only, and
  // nothing @dangerous but the two read-only commands the durability check needs.
  const user = { name: 'untradex', password: secret(), rules: UNTRADEX_ACL };
  const cluster = await startTestCluster(t, { primaries: 3, password: secret(), user, tls: certificates });
  const redis = {
    embedded: false,
    cluster: cluster.seeds,
    username: user.name,
    password: user.password,
    tls: { caFile: certificates.caFile, certFile: certificates.certFile, keyFile: certificates.keyFile },
    buckets: BUCKETS,
  };

  t.test('students write, acks come, and finalize exports exactly into SQLite', async (t) => {
    const exam = 'TLS-CL';
    const owners = new Set<number>();
    for (let bucket = 0; bucket < BUCKETS; bucket += 1) owners.add((await cluster.primaryOf(bucketKeys.log(exam, bucket))).port);
    t.equal(owners.size, 3, 'the exam spans all three primaries');
    const ux = await startUntradexInProcess(t, { redis, ...SMALL });
    const expected = await runExamTraffic(ux, exam, TRAFFIC, (fn) => t.teardown(fn));
    t.equal((await ux.api('POST', `/api/exams/${exam}/finalize`)).status, 202);
    const done = await waitForExamState(ux, exam, ['exported', 'failed'], 60_000);
    t.match(done, { state: 'exported', students: TRAFFIC.students, events: expected.events, export: { bucketsDone: BUCKETS, error: null } });
    assertSqliteResults(t, ux.config.export.sqlite.path, expected);
    // Every primary served Untradex's writers, and as the ACL user: the password reached each node.
    for (const node of cluster.nodes) {
      const clients = String(await cluster.nodeClient(node).client('LIST'));
      t.match(clients, /name=writer-\d+:\d+ .*user=untradex/, `node ${node.port} has writer connections of user untradex`);
    }
    const status = await ux.api<{ redis: { target: string } }>('GET', '/api/status');
    t.match(status.body.redis.target, /^cluster .* \(TLS, user untradex\)$/);
    t.notMatch(JSON.stringify(status.body), user.password, 'the status never shows the password');
  });

  t.test('a wrong password stops the start, naming redis.password', async (t) => {
    await t.rejects(startUntradexInProcess(t, { redis: { ...redis, password: 'not-the-password' }, ...SMALL }), { code: 'UX_ERR_CONFIG', key: 'redis.password' });
  });

  t.test('a client that does not trust the servers\' CA is refused, and so is one without a certificate', async (t) => {
    await t.rejects(startUntradexInProcess(t, { redis: { ...redis, tls: { ...redis.tls, caFile: stranger.caFile } }, ...SMALL }), { code: 'UX_ERR_CONFIG', key: 'redis.tls.caFile' });
    await t.rejects(startUntradexInProcess(t, { redis: { ...redis, tls: { caFile: certificates.caFile } }, ...SMALL }), { code: 'UX_ERR_CONFIG', key: 'redis.tls.certFile' });
    // And nothing gets in without TLS: the nodes have no plain port.
    const plain = new Redis({ host: '127.0.0.1', port: cluster.nodes[0]!.port, username: user.name, password: user.password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    plain.on('error', () => undefined);
    t.teardown(() => plain.disconnect());
    await t.rejects(plain.connect().then(() => plain.ping()), 'a plain-text client gets no answer');
  });
});

t.test('Untradex on one external Redis (redis.url) with a password and TLS', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ux-redis-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const certificates = await makeTestCertificates(join(dir, 'tls'), 'redis');
  const password = secret();
  // No client certificates here (tls-auth-clients no): redis.tls with the CA alone.
  const server = await startLoneTestRedis(t, { password, tls: certificates, tlsAuthClients: 'no' });
  const redis = { embedded: false, url: `redis://127.0.0.1:${server.port}`, password, tls: { caFile: certificates.caFile }, buckets: 4 };

  await t.rejects(startUntradexInProcess(t, { redis: { ...redis, password: 'not-the-password' }, ...SMALL }), { code: 'UX_ERR_CONFIG', key: 'redis.password' }, 'a wrong password is refused');
  await t.rejects(startUntradexInProcess(t, { redis: { ...redis, password: null }, ...SMALL }), { code: 'UX_ERR_CONFIG', key: 'redis.password' }, 'so is none');

  const exam = 'TLS-ONE';
  const ux = await startUntradexInProcess(t, { redis, ...SMALL });
  const expected = await runExamTraffic(ux, exam, TRAFFIC, (fn) => t.teardown(fn));
  t.equal((await ux.api('POST', `/api/exams/${exam}/finalize`)).status, 202);
  t.match(await waitForExamState(ux, exam, ['exported', 'failed'], 60_000), { state: 'exported', events: expected.events });
  assertSqliteResults(t, ux.config.export.sqlite.path, expected);
  t.match(String(await server.client().client('LIST')), /name=writer-\d+:\d+ /, 'the writers are connected to it');
});
