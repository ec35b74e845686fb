// `untradex start` (the default command, what `npm start` runs): loads the configuration, starts
// Untradex, prints where it listens, and drains gracefully on SIGINT/SIGTERM (rule S1).

import { loadConfig } from '../../../src/config/load-config.js';
import { describeRedisTarget, redisTargetFromConfig } from '../../../src/redis/redis-client.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { FleetApp } from '../../fleet-app.js';
import { STOP_DEADLINE_MS } from '../../../src/stop-timeouts.js';
import type { RunningApp } from '../../running-app.js';
import { UntradexApp } from '../../untradex-app.js';

/** Resolves once Untradex runs; the process then lives until a signal or a fatal error ends it. */
export async function runStart(configPath: string | undefined): Promise<void> {
  const loaded = loadConfig({ path: configPath });
  const { config } = loaded;
  const log = createLogger('untradex', config.log.level);
  const app: RunningApp = config.gateway.processes > 1 ? new FleetApp(config, log) : new UntradexApp(config, log);

  // Rule S1: the first SIGINT/SIGTERM (a terminal's Ctrl-C reaches the whole process group; the
  // children run in groups of their own) is a graceful stop; a second one ends it at once; and no
  // stop outlives STOP_DEADLINE_MS, whatever state the server is in.
  let stopping = false;
  const beginStop = (exitCode: number) => {
    stopping = true;
    setTimeout(() => {
      log.error({ deadlineMs: STOP_DEADLINE_MS }, `the stop did not finish within ${STOP_DEADLINE_MS / 1000} s; exiting without waiting any longer`);
      process.exit(exitCode === 0 ? 1 : exitCode);
    }, STOP_DEADLINE_MS);
    app.stop().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        log.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: stopping at once; students resend whatever was not acked');
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    }
    log.info({ signal }, 'stopping: draining events into Redis and sending the last acks (a second Ctrl-C stops at once)');
    beginStop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  app.on('fatal', (error) => {
    process.stderr.write(`untradex: ${error.message}${error.cause instanceof Error ? ` Last cause: ${error.cause.message}` : ''}\n`);
    if (!stopping) beginStop(1);
  });

  await app.start();
  const out = [
    'Untradex is running.',
    `  gateway:   ${config.gateway.processes} process(es) x ${config.gateway.connectionActors} connection actors, ${config.writers.count} writer(s) each`,
    `  students:  ws://${config.gateway.host === '0.0.0.0' ? '<this-host>' : config.gateway.host}:${app.gatewayPort}/ws`,
    `  control:   http://${config.control.host}:${app.controlPort}  (GET /api/status with the admin token)`,
    `  redis:     ${config.redis.embedded ? `embedded on 127.0.0.1:${config.redis.port}, AOF appendfsync=${config.redis.appendfsync}` : `external ${describeRedisTarget(redisTargetFromConfig(config.redis))}, waitReplicas=${config.redis.waitReplicas}`}`,
    `  sink:      ${config.export.sink}${config.export.sink === 'sqlite' ? ` (${config.export.sqlite.path})` : ''}`,
    `  data:      ${config.dataDir}`,
  ];
  if (loaded.adminTokenGenerated) out.push(`  admin token (kept in ${config.dataDir}/secrets.json): ${config.control.adminToken}`);
  process.stdout.write(out.join('\n') + '\n');
}
