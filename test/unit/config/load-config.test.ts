// Configuration: defaults, a file merged over them, every bad key named in the error, and secrets
// generated once into dataDir and reused.

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig, mergeConfig } from '../../../src/config/load-config.js';
import { describeRedisTarget, redisTargetFromConfig } from '../../../src/redis/redis-client.js';
import { makeTestCertificates } from '../../helpers/test-certificates.js';

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ux-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('defaults carry every docs/PROTOCOL.md section 6 key with its documented default', async (t) => {
  const dir = await tempDir(t);
  const { config } = loadConfig({ overrides: { dataDir: dir } });
  t.match(config, {
    gateway: { host: '0.0.0.0', port: 8080, helloTimeoutMs: 10000, maxFrameBytes: 4096, maxValueBytes: 2048 },
    control: { host: '127.0.0.1', port: 8081 },
    redis: { embedded: true, port: 6390, url: null, appendfsync: 'always' },
    export: { sink: 'sqlite', tablePrefix: 'ux_', sqlite: { path: join(dir, 'results.sqlite') }, postgres: { url: null } },
  });
  t.ok(config.gateway.connectionActors >= 1 && config.writers.count >= 1 && config.export.exporters >= 1);
});

t.test('a config file is merged over the defaults', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'mine.json');
  await writeFile(file, JSON.stringify({ dataDir: dir, gateway: { port: 9000 }, export: { sink: 'postgres', postgres: { url: 'postgres://x@h/db' } } }));
  const { config } = loadConfig({ path: file });
  t.equal(config.gateway.port, 9000);
  t.equal(config.gateway.maxFrameBytes, 4096, 'untouched siblings keep their defaults');
  t.equal(config.export.sink, 'postgres');
  t.equal(config.export.postgres.url, 'postgres://x@h/db');
});

const badCases: Array<[string, Record<string, unknown>, string]> = [
  ['an unknown top-level key', { colour: 'blue' }, 'colour'],
  ['an unknown nested key', { gateway: { prot: 1 } }, 'gateway.prot'],
  ['a port out of range', { gateway: { port: 70000 } }, 'gateway.port'],
  ['a wrong type', { writers: { count: 'two' } }, 'writers.count'],
  ['an unknown sink', { export: { sink: 'mysql' } }, 'export.sink'],
  ['a bad appendfsync', { redis: { appendfsync: 'no' } }, 'redis.appendfsync'],
  ['external Redis without a url', { redis: { embedded: false } }, 'redis.url'],
  ['a ring too small for the value limit', { gateway: { ringBytes: 4096 } }, 'gateway.ringBytes'],
  ['values too long for Oracle', { gateway: { maxValueBytes: 8000 }, export: { sink: 'oracle' } }, 'gateway.maxValueBytes'],
  ['a cluster with embedded Redis', { redis: { cluster: ['127.0.0.1:7000'] } }, 'redis.embedded'],
  ['a cluster and a url', { redis: { embedded: false, url: 'redis://h:1', cluster: ['127.0.0.1:7000'] } }, 'redis.url'],
  ['an empty cluster list', { redis: { embedded: false, cluster: [] } }, 'redis.cluster'],
  ['a cluster seed without a port', { redis: { embedded: false, cluster: ['127.0.0.1:7000', 'node-b'] } }, 'redis.cluster.1'],
  ['a cluster seed with port 0', { redis: { embedded: false, cluster: ['127.0.0.1:0'] } }, 'redis.cluster.0'],
  ['a cluster seed that is not a string', { redis: { embedded: false, cluster: [7000] } }, 'redis.cluster.0'],
  ['waitReplicas with embedded Redis', { redis: { waitReplicas: 1 } }, 'redis.waitReplicas'],
  ['a negative waitReplicas', { redis: { embedded: false, url: 'redis://h:1', waitReplicas: -1 } }, 'redis.waitReplicas'],
];
for (const [what, overrides, key] of badCases) {
  t.test(`${what} stops the start and names ${key}`, async (t) => {
    const dir = await tempDir(t);
    t.throws(() => loadConfig({ overrides: { dataDir: dir, ...overrides } }), { code: 'UX_ERR_CONFIG', key });
  });
}

t.test('redis.cluster defaults to null and names the seeds of a Redis Cluster', async (t) => {
  const dir = await tempDir(t);
  t.match(loadConfig({ overrides: { dataDir: dir } }).config.redis, { cluster: null, waitReplicas: 0 });
  const seeds = ['127.0.0.1:7000', 'redis-b.example:7001', '[::1]:7002'];
  const { config } = loadConfig({ overrides: { dataDir: dir, redis: { embedded: false, cluster: seeds, waitReplicas: 1 } } });
  t.same(config.redis.cluster, seeds);
  t.equal(config.redis.waitReplicas, 1);
  t.same(redisTargetFromConfig(config.redis), {
    cluster: [
      { host: '127.0.0.1', port: 7000 },
      { host: 'redis-b.example', port: 7001 },
      { host: '::1', port: 7002 },
    ],
  });
});

t.test('missing secrets are generated once into dataDir (0600) and reused', async (t) => {
  const dir = await tempDir(t);
  const first = loadConfig({ overrides: { dataDir: dir } });
  t.equal(first.adminTokenGenerated, true);
  t.ok(first.config.control.adminToken.length >= 16);
  t.ok(first.config.auth.secret.length >= 16);
  const mode = (await stat(join(dir, 'secrets.json'))).mode & 0o777;
  t.equal(mode, 0o600, 'only the owner may read the secrets');
  const second = loadConfig({ overrides: { dataDir: dir } });
  t.equal(second.config.control.adminToken, first.config.control.adminToken, 'the admin token survives a restart');
  t.equal(second.config.auth.secret, first.config.auth.secret, 'issued student tokens stay valid');
  const configured = loadConfig({ overrides: { dataDir: dir, control: { adminToken: 'a-configured-admin-token' }, auth: { secret: 'a-configured-hmac-secret' } } });
  t.equal(configured.config.control.adminToken, 'a-configured-admin-token', 'a configured token wins');
  t.equal(configured.adminTokenGenerated, false);
  t.match(JSON.parse(await readFile(join(dir, 'secrets.json'), 'utf8')), { adminToken: first.config.control.adminToken });
});

t.test('mergeConfig replaces scalars and arrays, merges objects', async (t) => {
  t.same(mergeConfig({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: null }), { a: { b: 1, c: [3] }, d: null });
});

t.test('secrets come from the environment, directly or from a file, and errors name the variable, not the value', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'pg-url');
  await writeFile(file, 'postgres://u:p@db.example/exams\n');
  const { config, adminTokenGenerated } = loadConfig({
    overrides: { dataDir: dir },
    env: { UNTRADEX_ADMIN_TOKEN: 'a'.repeat(20), UNTRADEX_AUTH_SECRET: 'b'.repeat(20), UNTRADEX_POSTGRES_URL_FILE: file, UNTRADEX_ORACLE_PASSWORD: 'tiger' },
  });
  t.equal(config.control.adminToken, 'a'.repeat(20));
  t.equal(config.auth.secret, 'b'.repeat(20));
  t.equal(config.export.postgres.url, 'postgres://u:p@db.example/exams', 'the file, without its trailing newline');
  t.equal(config.export.oracle.password, 'tiger');
  t.equal(adminTokenGenerated, false, 'a token from the environment is never printed');

  t.throws(() => loadConfig({ overrides: { dataDir: dir }, env: { UNTRADEX_ADMIN_TOKEN: 'x'.repeat(20), UNTRADEX_ADMIN_TOKEN_FILE: file } }), { code: 'UX_ERR_CONFIG', key: 'control.adminToken', message: /both UNTRADEX_ADMIN_TOKEN and UNTRADEX_ADMIN_TOKEN_FILE/ });
  t.throws(() => loadConfig({ overrides: { dataDir: dir }, env: { UNTRADEX_AUTH_SECRET_FILE: join(dir, 'missing') } }), { code: 'UX_ERR_CONFIG', message: /cannot read UNTRADEX_AUTH_SECRET_FILE .*ENOENT/ });
  const short = 'short-secret';
  const error = (() => {
    try {
      loadConfig({ overrides: { dataDir: dir }, env: { UNTRADEX_ADMIN_TOKEN: short } });
    } catch (caught) {
      return caught as Error & { key: string };
    }
    return null;
  })();
  t.match(error, { code: 'UX_ERR_CONFIG', key: 'control.adminToken', message: /set by UNTRADEX_ADMIN_TOKEN/ }, 'a bad value names the variable');
  t.notMatch(error?.message, short, 'and never shows the secret');
});

t.test('the admin token counts as generated only by the start that made it; the embedded Redis gets a password', async (t) => {
  const dir = join(await tempDir(t), 'fresh');
  const previous = process.umask(0o022);
  t.teardown(() => process.umask(previous));
  const first = loadConfig({ overrides: { dataDir: dir } });
  const second = loadConfig({ overrides: { dataDir: dir } });
  t.equal(first.adminTokenGenerated, true);
  t.equal(second.adminTokenGenerated, false, 'reused from secrets.json: not printed again');
  t.ok((first.config.redis.embeddedPassword ?? '').length >= 32, 'a generated Redis password');
  t.equal(second.config.redis.embeddedPassword, first.config.redis.embeddedPassword, 'kept across starts');
  t.equal((await stat(dir)).mode & 0o777, 0o700, 'dataDir is created 0700');
});

const external = { embedded: false, url: 'redis://db.example:6379' };
const badRedisAccess: Array<[string, Record<string, unknown>, string]> = [
  ['a password for the embedded Redis', { password: 'pw' }, 'redis.password'],
  ['a user for the embedded Redis', { username: 'ux', password: 'pw' }, 'redis.username'],
  ['TLS for the embedded Redis', { tls: { caFile: '/ca.crt' } }, 'redis.tls'],
  ['a user without a password', { ...external, username: 'ux' }, 'redis.password'],
  ['a password in the url and in redis.password', { ...external, url: 'redis://:pw@db.example:6379', password: 'other' }, 'redis.password'],
  ['a user in the url and in redis.username', { ...external, url: 'redis://ux@db.example:6379', username: 'ux', password: 'pw' }, 'redis.username'],
  ['an empty password', { ...external, password: '' }, 'redis.password'],
  ['TLS without a caFile', { ...external, tls: { certFile: '/c.crt', keyFile: '/c.key' } }, 'redis.tls.caFile'],
  ['a client certificate without its key', { ...external, tls: { caFile: '/ca.crt', certFile: '/c.crt' } }, 'redis.tls.keyFile'],
  ['an unknown TLS key', { ...external, tls: { caFile: '/ca.crt', ca: 'x' } }, 'redis.tls.ca'],
];
for (const [what, redis, key] of badRedisAccess) {
  t.test(`${what} stops the start and names ${key}`, async (t) => {
    const dir = await tempDir(t);
    t.throws(() => loadConfig({ overrides: { dataDir: dir, redis } }), { code: 'UX_ERR_CONFIG', key });
  });
}

t.test('redis.username, redis.password and redis.tls reach the target of an external Redis and of a Cluster', async (t) => {
  const dir = await tempDir(t);
  const certificates = await makeTestCertificates(join(dir, 'tls'));
  const tls = { caFile: certificates.caFile, certFile: certificates.certFile, keyFile: certificates.keyFile, servername: 'redis.internal' };
  const material = { ca: await readFile(certificates.caFile, 'utf8'), cert: await readFile(certificates.certFile, 'utf8'), key: await readFile(certificates.keyFile, 'utf8'), servername: 'redis.internal' };
  const single = loadConfig({ overrides: { dataDir: dir, redis: { ...external, username: 'ux', password: 'pw', tls } } }).config;
  t.same(single.redis.tlsMaterial, material, 'the PEM files are read at start');
  t.same(redisTargetFromConfig(single.redis), { url: external.url, username: 'ux', password: 'pw', tls: material });
  t.equal(describeRedisTarget(redisTargetFromConfig(single.redis)), 'redis://db.example:6379 (TLS, user ux)', 'no password shows');
  const cluster = loadConfig({ overrides: { dataDir: dir, redis: { embedded: false, cluster: ['127.0.0.1:7000'], password: 'pw', tls: { caFile: certificates.caFile } } } }).config;
  t.same(redisTargetFromConfig(cluster.redis), { cluster: [{ host: '127.0.0.1', port: 7000 }], password: 'pw', tls: { ca: material.ca } }, 'the CA alone: no client certificate');
  t.same(redisTargetFromConfig({ ...cluster.redis, password: null, tlsMaterial: null }), { cluster: [{ host: '127.0.0.1', port: 7000 }] }, 'nothing set, nothing added');
});

t.test('the TLS files are checked at start: unreadable, not PEM, or a key of another certificate', async (t) => {
  const dir = await tempDir(t);
  const mine = await makeTestCertificates(join(dir, 'tls'), 'mine');
  const other = await makeTestCertificates(join(dir, 'tls'), 'other');
  const start = (tls: Record<string, unknown>) => () => loadConfig({ overrides: { dataDir: dir, redis: { ...external, tls } } });
  t.throws(start({ caFile: join(dir, 'missing.crt') }), { code: 'UX_ERR_CONFIG', key: 'redis.tls.caFile', message: /cannot read .*missing\.crt: ENOENT/ });
  t.throws(start({ caFile: mine.keyFile }), { code: 'UX_ERR_CONFIG', key: 'redis.tls.caFile' }, 'a key is no CA certificate');
  t.throws(start({ caFile: mine.caFile, certFile: mine.certFile, keyFile: join(dir, 'missing.key') }), { code: 'UX_ERR_CONFIG', key: 'redis.tls.keyFile' });
  t.throws(start({ caFile: mine.caFile, certFile: mine.certFile, keyFile: other.keyFile }), { code: 'UX_ERR_CONFIG', key: 'redis.tls.keyFile' }, 'a key that does not match');
  const relative = loadConfig({ cwd: join(dir, 'tls'), overrides: { dataDir: dir, redis: { ...external, tls: { caFile: 'mine-ca.crt' } } } }).config;
  t.equal(relative.redis.tls?.caFile, mine.caFile, 'a relative path is resolved against the cwd');
});

t.test('the Redis password may come from UNTRADEX_REDIS_PASSWORD or its _FILE, and is never shown', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'redis-password');
  await writeFile(file, 's3cret-from-file\n');
  t.equal(loadConfig({ overrides: { dataDir: dir, redis: external }, env: { UNTRADEX_REDIS_PASSWORD: 's3cret' } }).config.redis.password, 's3cret');
  t.equal(loadConfig({ overrides: { dataDir: dir, redis: external }, env: { UNTRADEX_REDIS_PASSWORD_FILE: file } }).config.redis.password, 's3cret-from-file');
  const error = (() => {
    try {
      loadConfig({ overrides: { dataDir: dir }, env: { UNTRADEX_REDIS_PASSWORD: 's3cret' } });
    } catch (caught) {
      return caught as Error & { key: string };
    }
    return null;
  })();
  t.match(error, { code: 'UX_ERR_CONFIG', key: 'redis.password', message: /set by UNTRADEX_REDIS_PASSWORD/ }, 'with the embedded Redis it is refused, naming the variable');
  t.notMatch(error?.message, 's3cret');
});
