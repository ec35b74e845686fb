// The shape of every configuration key, with its bounds: docs/PROTOCOL.md section 6 plus tuning.
// Defaults live in config/default.json; this schema only validates (strict: unknown keys fail).

import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ID_PATTERN } from '../events/answer-event.js';
import { resolveActorCounts } from './actor-counts.js';
import type { RedisTlsMaterial } from './redis-tls.js';

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().min(1);
const host = z.string().min(1);
/** An exam id of docs/PROTOCOL.md section 1. */
const examIdSchema = z.string().regex(ID_PATTERN, 'an exam id: 1 to 64 of A-Z a-z 0-9 _ . -');
/** A thread count, or "auto": derived from the machine's cores (src/config/actor-counts.ts). */
const actorCount = z.union([z.literal('auto'), z.number().int().min(1).max(64)]);

const rateLimitSchema = z.strictObject({
  /** Sustained events per second one connection may send before `err rate_limited`. */
  eventsPerSecond: positiveInt,
  /** Bucket size: a burst above the sustained rate that is still accepted. */
  burst: positiveInt,
  /** Rate-limited events in a row (without an accepted one between) that close with 4429. */
  abuseStrikes: positiveInt,
});

/**
 * Presence (`connected` in the exam view and roster): every refreshMs each connection actor writes
 * the sessions that opened and removes those that closed since its last round, and keeps one holder
 * record per bucket alive for ttlMs, renewed once half of it is gone. A process that dies takes its
 * students out of the count when that record lapses, after ttlMs at most. refreshMs at most a third
 * of ttlMs, so one late round does not make a connected student read as gone.
 */
const presenceSchema = z
  .strictObject({
    refreshMs: z.number().int().min(50).max(60_000),
    ttlMs: z.number().int().min(150).max(600_000),
  })
  .refine((presence) => presence.refreshMs * 3 <= presence.ttlMs, { message: 'refreshMs must be at most a third of ttlMs' });

const gatewaySchema = z.strictObject({
  host,
  port,
  /**
   * Gateway processes on this box, each a whole actor tree on the same Redis and port; more than
   * one when students outgrow one process's open-file limit. 1 runs everything in one process.
   */
  processes: z.number().int().min(1).max(64),
  /** Connection actor threads sharing the gateway port (per gateway process), or "auto". */
  connectionActors: actorCount,
  helloTimeoutMs: z.number().int().min(100).max(600_000),
  maxFrameBytes: z.number().int().min(256).max(1_048_576),
  maxValueBytes: z.number().int().min(1).max(1_048_576),
  /** Total sockets this gateway process accepts; more are refused at the upgrade with 503. */
  maxConnections: positiveInt,
  /** Sockets per source address; 0 means no per-address cap. */
  maxConnectionsPerAddress: z.number().int().min(0),
  /**
   * Sockets not yet welcomed (no hello yet, or a hello being claimed) in this gateway process, and
   * from one source address: past either, an upgrade is refused with 503. A machine that opens
   * sockets and never says hello holds at most the per-address share, not every place.
   */
  maxUnwelcomed: positiveInt,
  maxUnwelcomedPerAddress: positiveInt,
  pingIntervalMs: z.number().int().min(1000),
  /** Bytes of each event ring (one per connection actor and writer pair). */
  ringBytes: z.number().int().min(4096).max(1 << 30),
  /** Bytes of each ack ring (one per writer and connection actor pair). */
  ackRingBytes: z.number().int().min(4096).max(1 << 30),
  rateLimit: rateLimitSchema,
  presence: presenceSchema,
  /** PEM certificate and key: the gateway port then speaks wss:// and https:// (docs/PROTOCOL.md section 6). Both or neither. */
  tls: z
    .strictObject({ certFile: z.string().min(1).nullable(), keyFile: z.string().min(1).nullable() })
    .refine((tls) => (tls.certFile === null) === (tls.keyFile === null), { message: 'set both certFile and keyFile, or neither' }),
});

const writersSchema = z.strictObject({
  /** Redis writer actor threads (per gateway process), or "auto". */
  count: actorCount,
  /** Most events one writer takes from its rings per batch. */
  batchMaxEvents: z.number().int().min(1).max(100_000),
  /** How long a writer waits for more events before sending a small batch. */
  lingerMs: z.number().min(0).max(1000),
  /**
   * Redis connections per writer; a batch's per-bucket calls are spread over them (by bucket, so a
   * student's events stay in order). Redis reads at most 16 KiB per connection per event-loop pass
   * and fsyncs once per pass, so more connections put more events under one fsync.
   */
  redisConnections: z.number().int().min(1).max(64),
  /**
   * Redis Cluster only: how long one bucket's write may take before its events are answered
   * Unavailable (err busy, close 1013; the students reconnect and resend) while the other shards'
   * events are acked. Bounds how long a failing-over or replica-starved shard holds up the rest.
   */
  shardWaitMs: z.number().int().min(50).max(60_000),
  /**
   * Events a connection actor may hold in its own writes to Redis, bypassing the writers (one call
   * at a time, the events read meanwhile going as the next), taken only while none of its events is
   * in the rings: a quiet student's event then costs one thread instead of three. 0: every event
   * goes through a writer.
   */
  directInFlight: z.number().int().min(0).max(1024),
});

/**
 * TLS to an external Redis or Redis Cluster: PEM files read at start (src/config/redis-tls.ts).
 * caFile: the CA that signed the servers' certificates (the system bundle for a public one).
 * certFile and keyFile: a client certificate, for servers with `tls-auth-clients yes`; both or
 * neither. servername: the name the servers' certificates carry, when it is not the address
 * Untradex connects to (also sent as SNI).
 */
const redisTlsSchema = z
  .strictObject({
    caFile: z.string().min(1),
    certFile: z.string().min(1).nullable().optional(),
    keyFile: z.string().min(1).nullable().optional(),
    servername: z.string().min(1).nullable().optional(),
  })
  .refine((tls) => (tls.certFile == null) === (tls.keyFile == null), { message: 'set both certFile and keyFile, or neither', path: ['keyFile'] });

const redisSchema = z.strictObject({
  embedded: z.boolean(),
  port,
  url: z.string().min(1).nullable(),
  /** The ACL user of an external Redis or Redis Cluster; null for the `default` user. */
  username: z.string().min(1).nullable(),
  /**
   * Its password (Redis AUTH): a secret, also from UNTRADEX_REDIS_PASSWORD or
   * UNTRADEX_REDIS_PASSWORD_FILE, never logged. Null when the servers ask for none.
   */
  password: z.string().min(1).nullable(),
  /** TLS to the servers, or null for plain TCP (see redisTlsSchema). */
  tls: redisTlsSchema.nullable(),
  /**
   * Seed nodes (`host:port`) of a Redis Cluster to use instead of one Redis; null for one Redis.
   * The client finds the other nodes itself. Needs redis.embedded false and redis.url null.
   */
  cluster: z.array(z.string().min(1)).min(1).max(64).nullable(),
  /**
   * Replicas that must have each write (Redis WAIT) before its events are acked; 0 acks once the
   * primary has it. See docs/REDIS-CLUSTER.md for what each setting survives.
   */
  waitReplicas: z.number().int().min(0).max(16),
  appendfsync: z.enum(['always', 'everysec']),
  /**
   * Read appendonly, appendfsync and maxmemory-policy from every Redis server at start and after
   * each reconnect, and refuse one that would not keep acked answers as promised. Turn off only for
   * a managed Redis that refuses CONFIG GET, after checking its settings yourself.
   */
  checkDurability: z.boolean(),
  /** Buckets per exam: the unit of Redis keys, of writer routing and of export parallelism. */
  buckets: z.number().int().min(1).max(16384),
  /** The redis-server binary embedded mode runs. */
  serverPath: z.string().min(1),
});

const controlSchema = z.strictObject({
  host,
  port,
  adminToken: z.string().min(16).nullable(),
  maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024),
  /** When set, GET /metrics needs `Authorization: Bearer <metricsToken>`. */
  metricsToken: z.string().min(1).nullable(),
});

const exportSchema = z.strictObject({
  exporters: z.number().int().min(1).max(64),
  sink: z.enum(['sqlite', 'postgres', 'oracle']),
  tablePrefix: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,20}$/, 'a letter, then up to 20 letters, digits or _'),
  /** Rows read from Redis and written to the sink per chunk. */
  chunkSize: z.number().int().min(1).max(1_000_000),
  /** Seconds exported data stays in Redis before it expires; null keeps it until purged. */
  retainSeconds: z.number().int().min(1).nullable(),
  retry: z.strictObject({
    attempts: z.number().int().min(1).max(100),
    baseDelayMs: z.number().int().min(0),
    maxDelayMs: z.number().int().min(0),
  }),
  sqlite: z.strictObject({ path: z.string().min(1).nullable() }),
  postgres: z.strictObject({ url: z.string().min(1).nullable() }),
  oracle: z.strictObject({
    user: z.string().min(1).nullable(),
    password: z.string().nullable(),
    connectString: z.string().min(1).nullable(),
    batchSize: z.number().int().min(1).max(100_000),
    poolMax: z.number().int().min(1).max(64),
  }),
});

export const configSchema = z.strictObject({
  dataDir: z.string().min(1),
  gateway: gatewaySchema,
  writers: writersSchema,
  redis: redisSchema,
  control: controlSchema,
  auth: z.strictObject({ secret: z.string().min(16).nullable() }),
  export: exportSchema,
  supervision: z.strictObject({
    /** Restarts allowed per child within periodSeconds before the supervisor gives up. */
    intensity: z.number().int().min(0),
    periodSeconds: z.number().min(0.1),
  }),
  log: z.strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    /**
     * Exams whose students' connection stories (hello, welcome, events, acks, nacks, errors, closes)
     * are logged at info level, each line with exam, student and address; never tokens or values.
     */
    traceExams: z.array(examIdSchema),
  }),
  storage: z.strictObject({
    /**
     * Rule S3: below this many free bytes on the disk of dataDir no new event is acked (writers stop
     * taking from the rings) until space returns. 0 turns the gate off.
     */
    minFreeBytes: z.number().int().min(0),
  }),
}).transform((config) => {
  // "auto" becomes a number here, so every part of Untradex sees thread counts, never "auto".
  const counts = resolveActorCounts({ connectionActors: config.gateway.connectionActors, writers: config.writers.count }, availableParallelism(), config.gateway.processes);
  return { ...config, gateway: { ...config.gateway, connectionActors: counts.connectionActors }, writers: { ...config.writers, count: counts.writers } };
});

/** The configuration as validated, before secrets and derived paths are filled in. */
export type RawConfig = z.infer<typeof configSchema>;

/** The configuration every part of Untradex receives: secrets present, paths absolute. */
export type UntradexConfig = Omit<RawConfig, 'redis' | 'control' | 'auth' | 'export'> & {
  /**
   * embeddedPassword: the embedded Redis's generated password (kept in dataDir/secrets.json); null
   * when external. tlsMaterial: the files of redis.tls, read at start; null without redis.tls.
   */
  redis: RawConfig['redis'] & { embeddedPassword: string | null; tlsMaterial: RedisTlsMaterial | null };
  control: Omit<RawConfig['control'], 'adminToken'> & { adminToken: string };
  auth: { secret: string };
  export: Omit<RawConfig['export'], 'sqlite'> & { sqlite: { path: string } };
};
