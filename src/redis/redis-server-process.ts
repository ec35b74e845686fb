// One spawned redis-server on the shared child lifecycle: ready once it answers a probe, SHUTDOWN or SIGTERM
// (Redis fsyncs its AOF) then SIGKILL to stop, an unasked exit reported once in words; its start failures name the cause.

import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ChildLifecycle, type ChildTiming, type LifecycleNote, type StartFailure } from '../actor-runtime/child-lifecycle.js';
import { RedisStartError, RedisUnavailableError, type UntradexError } from '../errors.js';

const POLL_MS = 50;

/** What the process needs of its EmbeddedRedis to word a failure. */
export interface RedisServerWords {
  /** Why a server died, in words an operator acts on (disk full, Redis's last warning). */
  describeExit(code: number | null, signal: string | null, stderr: string): Promise<string>;
  /** Why it could not start, from its exit or the spawn's error; `tail` reads its log and stderr. */
  startFailure(exit: { code: number | null; signal: string | null; error?: Error }, stderr: string): Promise<UntradexError>;
  logTail(stderr: string): Promise<string>;
  /** Asks the server to SHUTDOWN over a connection; false when it could not be asked. */
  shutdown(): Promise<boolean>;
}

export class RedisServerProcess extends ChildLifecycle {
  /** redis-server leaves by itself on SIGTERM, once its AOF is flushed. */
  protected readonly exitsWhenStopped = true;
  /** A ChildProcess's 'error' is a spawn or signal that failed; its exit is what counts. */
  protected readonly errorIsCrash = false;
  /** The last of what the server wrote to stderr (it logs to its file once its config is read). */
  #stderr = '';
  /** Set, before the crash is reported, when the server exited unasked: how, and why in words. */
  unaskedExit: { code: number | null; signal: string | null; why: string } | null = null;

  constructor(
    readonly child: ChildProcess,
    readonly port: number,
    log: Logger,
    timing: ChildTiming,
    private readonly words: RedisServerWords,
    stderrBytes: number,
  ) {
    super(`redis-server:${port}`, child, log, timing);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-stderrBytes);
    });
  }

  /** Resolves once the process has exited, whyever it did. */
  get gone(): Promise<void> {
    return this.exited;
  }

  /** Resolves when the server answers `answers()`; rejects with the start's cause (and the process gone) otherwise. */
  async waitAnswering(answers: () => Promise<boolean>): Promise<void> {
    let settled = false;
    const ready = this.waitReady().finally(() => {
      settled = true;
    });
    ready.catch(() => undefined); // awaited below; a failure while a probe runs is not unhandled meanwhile
    const exited = this.exited.then(() => 'exited' as const);
    while (!settled) {
      if (await answers()) {
        this.markReady();
        break;
      }
      // Stopped while starting (it exits in phase `stopping`, which no ready wait hears): give up.
      if ((await Promise.race([sleep(POLL_MS).then(() => 'poll' as const), exited])) === 'exited' && !settled) {
        throw new RedisStartError(`embedded redis-server on port ${this.port} was stopped while starting`);
      }
    }
    await ready;
  }

  /** redis-server has no channel: its readiness is answering a probe (waitAnswering). */
  protected readNote(_message: unknown): LifecycleNote | null {
    return null;
  }

  /** SHUTDOWN first (prompt at any hz); SIGTERM when the server could not be asked. */
  protected async requestStop(): Promise<void> {
    if (await this.words.shutdown()) return;
    this.child.kill('SIGTERM');
  }

  protected force(): void {
    this.child.kill('SIGKILL');
  }

  protected override async startError(failure: StartFailure): Promise<UntradexError> {
    switch (failure.kind) {
      case 'timeout': {
        await this.exited; // reaped before start() rejects: nothing of it is left behind
        const tail = await this.words.logTail(this.#stderr);
        return new RedisStartError(`embedded redis-server on port ${this.port} did not answer in time. Log tail:\n${tail}`);
      }
      case 'exit':
        return this.words.startFailure({ code: failure.code, signal: failure.signal }, this.#stderr);
      case 'error':
        return this.words.startFailure({ code: null, signal: null, error: failure.error }, this.#stderr);
      case 'failed':
        return new RedisStartError(`embedded redis-server on port ${this.port} failed to start: ${failure.error.message}`);
      default: {
        const unreachable: never = failure;
        return unreachable;
      }
    }
  }

  protected override async exitError(code: number | null, signal: NodeJS.Signals | null): Promise<UntradexError> {
    const why = await this.words.describeExit(code, signal, this.#stderr);
    this.unaskedExit = { code, signal, why };
    return new RedisUnavailableError(`embedded redis-server ${why}`);
  }
}
