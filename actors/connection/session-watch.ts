// Listens to the Redis channels on which ux_hello announces new sessions and ux_close announces
// a closing exam, so that every actor in every process reacts: `replaced` and `closed` frames.

import type { Logger } from 'pino';
import { CHANNEL_CLOSED, CHANNEL_SESSIONS } from '../../src/redis/bucket-keys.js';
import { logConnectionHealth } from '../../src/redis/connection-log.js';
import { createRedisClient, disconnectRedisClient, type RedisTarget } from '../../src/redis/redis-client.js';

export interface SessionWatchHandlers {
  sessionClaimed(exam: string, student: string, epoch: number): void;
  examClosed(exam: string): void;
  /**
   * The subscriber reconnected: whatever was published while it was away is lost, so the
   * handler checks the sessions it holds against Redis instead.
   */
  resubscribed(): void;
}

export class SessionWatch {
  private readonly subscriber;

  private connectedBefore = false;

  constructor(target: RedisTarget, name: string, handlers: SessionWatchHandlers, log: Logger) {
    this.subscriber = logConnectionHealth(createRedisClient(target, `${name}:watch`), `${name}:watch`, log);
    // ioredis subscribes again by itself on every reconnect, before it emits 'ready'.
    this.subscriber.on('ready', () => {
      if (this.connectedBefore) handlers.resubscribed();
      this.connectedBefore = true;
    });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === CHANNEL_SESSIONS) {
        const [exam, student, epoch] = message.split('\n');
        if (exam !== undefined && student !== undefined && epoch !== undefined) handlers.sessionClaimed(exam, student, Number(epoch));
        else log.warn({ message }, 'malformed session announcement ignored');
      } else if (channel === CHANNEL_CLOSED) {
        handlers.examClosed(message);
      }
    });
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(CHANNEL_SESSIONS, CHANNEL_CLOSED);
  }

  async stop(): Promise<void> {
    await this.subscriber.quit().catch(() => undefined);
    disconnectRedisClient(this.subscriber);
  }
}
