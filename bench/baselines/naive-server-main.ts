// Runs the naive baseline server as its own process (argument: NaiveServerOptions as JSON), so the
// benchmark samples its RSS and CPU like Untradex's; prints a line once it listens.

import { startNaiveServer, type NaiveServerOptions } from './naive-server.js';

const options = JSON.parse(process.argv[2] ?? '{}') as NaiveServerOptions;
const server = await startNaiveServer(options);
process.stdout.write(`naive server listening on ${options.host}:${options.port}\n`);
const stop = () => void server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
