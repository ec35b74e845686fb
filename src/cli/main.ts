#!/usr/bin/env node
// `npm start`: loads the configuration (--config or UNTRADEX_CONFIG over config/default.json),
// starts Untradex, prints where it listens, and drains gracefully on SIGINT/SIGTERM.

import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config.js';
import { UntradexError } from '../errors.js';
import { describeRedisTarget, redisTargetFromConfig } from '../redis/redis-client.js';
import { createLogger } from '../telemetry/logger.js';
import { FleetApp } from '../../supervisors/fleet-app.js';
import { UntradexApp, type RunningApp } from '../../supervisors/untradex-app.js';

function fail(message: string, exitCode: number): never {
  process.stderr.write(`untradex: ${message}\n`);
  process.exit(exitCode);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    fail(`${(error as Error).message}\nusage: untradex [--config <file.json>]`, 2);
  }
  if (values.help === true) {
    process.stdout.write('usage: untradex [--config <file.json>]   (or UNTRADEX_CONFIG=<file.json>)\n');
    return;
  }
  let loaded;
  try {
    loaded = loadConfig({ path: values.config ?? process.env.UNTRADEX_CONFIG });
  } catch (error) {
    if (error instanceof UntradexError) fail(error.message, 2);
    throw error;
  }
  const { config } = loaded;
  const log = createLogger('untradex', config.log.level);
  const app: RunningApp = config.gateway.processes > 1 ? new FleetApp(config, log) : new UntradexApp(config, log);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: draining events into Redis and sending the last acks');
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  app.on('fatal', (error) => {
    process.stderr.write(`untradex: ${error.message}\n`);
    stopping = true;
    app.stop().finally(() => process.exit(1));
  });

  try {
    await app.start();
  } catch (error) {
    if (error instanceof UntradexError) fail(`${error.code}: ${error.message}`, 1);
    throw error;
  }
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

main().catch((error: unknown) => {
  process.stderr.write(`untradex: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
