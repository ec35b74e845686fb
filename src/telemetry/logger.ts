// One structured logger (pino) per thread, named after the actor that owns it.
// Levels come from config `log.level`; writes are synchronous so a crashing thread's last words land.

import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 1, sync: true }));
}
