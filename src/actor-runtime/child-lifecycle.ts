// The one lifecycle every supervised thread or process shares (the embedded redis-server too): wait until
// it is ready (or failed, or time runs out), stop it gracefully then by force, and report an unasked exit as a crash.

import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ActorCrashedError, deserializeError, type SerializedError, type UntradexError } from '../errors.js';

/** What a child says about its start, once its message has been read as one. */
export type LifecycleNote = { type: 'ready' } | { type: 'failed'; error: SerializedError };

/**
 * `starting` until the child's ready note; then `running`; `stopping` once asked to stop; `stopped`
 * when it has exited after that. `failed` (did not start) and `crashed` (exited or threw unasked)
 * are final and reported once.
 */
export type ChildPhase = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' | 'crashed';

export interface ChildTiming {
  /** How long the child has to say it is ready before it is ended and its start fails. */
  readyTimeoutMs: number;
  /** How long a graceful stop may take before the child is ended by force. */
  stopTimeoutMs: number;
}

type StopOutcome = 'done' | 'failed' | 'timeout';

/** Why a start failed: no ready in time, the child's own failed note, its exit, or an 'error' (a spawn that failed). */
export type StartFailure =
  | { kind: 'timeout'; readyTimeoutMs: number }
  | { kind: 'failed'; error: SerializedError }
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'error'; error: Error };

/**
 * A thread (ActorThread), a process (GatewayProcess) or the embedded redis-server (RedisServerProcess)
 * as its supervisor sees it: stop() and onCrash() are a supervisor's ChildHandle. `runtime` is the
 * Worker or ChildProcess: both emit 'exit' and 'error', and 'message' if they have a channel.
 */
export abstract class ChildLifecycle {
  private phase: ChildPhase = 'starting';
  private crashListener: ((error: UntradexError) => void) | null = null;
  private startWait: { resolve(): void; reject(error: UntradexError): void } | null = null;
  /** Resolves when the child has exited, whyever it did. */
  protected readonly exited: Promise<void>;

  /** Reads one message as a lifecycle note; null for anything else (comlink's calls share the channel). */
  protected abstract readNote(message: unknown): LifecycleNote | null;
  /** Asks the child to stop; resolves when it has answered. */
  protected abstract requestStop(): Promise<unknown>;
  /** Ends the child at once: terminate the thread, SIGKILL the process. */
  protected abstract force(): Promise<unknown> | void;
  /**
   * Whether the child leaves by itself once it answered a stop (a process exits; a thread's open
   * control port keeps it alive, so it is ended after its stop answered).
   */
  protected abstract readonly exitsWhenStopped: boolean;
  /** Whether an 'error' event is a crash (a thread's uncaught exception) or channel trouble (a process's IPC). */
  protected abstract readonly errorIsCrash: boolean;

  /** The error a failed start rejects with; a child with words of its own for it (a log tail) overrides this. */
  protected startError(failure: StartFailure): UntradexError | Promise<UntradexError> {
    switch (failure.kind) {
      case 'timeout':
        return new ActorCrashedError(this.id, `not ready within ${failure.readyTimeoutMs} ms`);
      case 'failed':
        return new ActorCrashedError(this.id, `failed to start: ${failure.error.message}`, { cause: deserializeError(failure.error) });
      case 'exit':
        return new ActorCrashedError(this.id, `exited with ${describeExit(failure.code, failure.signal)} while starting`);
      case 'error':
        return new ActorCrashedError(this.id, `failed to start: ${failure.error.message}`, { cause: failure.error });
      default: {
        const unreachable: never = failure;
        return unreachable;
      }
    }
  }

  /** The error an exit nobody asked for is reported with; overridable like startError. */
  protected exitError(code: number | null, signal: NodeJS.Signals | null): UntradexError | Promise<UntradexError> {
    return new ActorCrashedError(this.id, `exited unasked with ${describeExit(code, signal)}`);
  }

  protected constructor(
    readonly id: string,
    private readonly runtime: EventEmitter,
    protected readonly log: Logger,
    private readonly timing: ChildTiming,
  ) {
    // Listened to from the first moment, so neither an early exit nor an 'error' (which, unheard,
    // would throw on the main thread) is ever missed; what each means depends on the phase.
    this.exited = new Promise((resolve) => runtime.once('exit', () => resolve()));
    runtime.on('exit', (code: number | null, signal?: NodeJS.Signals | null) => this.onExit(code, signal ?? null));
    runtime.on('error', (error: Error) => this.onError(error));
  }

  /** Registers the one listener told when the child dies unasked. */
  onCrash(listener: (error: UntradexError) => void): void {
    this.crashListener = listener;
  }

  /** Graceful stop, then force past `stopTimeoutMs`; resolves once the child has exited. Never reports a crash. */
  async stop(): Promise<void> {
    if (this.phase === 'stopping' || this.phase === 'stopped') return this.exited;
    if (this.phase === 'crashed' || this.phase === 'failed') {
      await this.force();
      return this.exited;
    }
    this.setPhase('stopping');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<StopOutcome>((resolve) => (timer = setTimeout(resolve, this.timing.stopTimeoutMs, 'timeout')));
    const graceful = this.requestStop().then(
      (): Promise<StopOutcome> | StopOutcome => (this.exitsWhenStopped ? this.exited.then(() => 'done') : 'done'),
      (error: unknown): StopOutcome => {
        this.log.warn({ child: this.id, err: error }, 'child stop failed; ending it');
        return 'failed';
      },
    );
    // A child that exits while asked to stop has stopped, whether or not its answer made it out.
    const outcome = await Promise.race([graceful, this.exited.then((): StopOutcome => 'done'), timeout]);
    clearTimeout(timer);
    if (outcome !== 'done') this.log.warn({ child: this.id, outcome }, 'child did not stop gracefully; ending it');
    if (outcome !== 'done' || !this.exitsWhenStopped) await this.force();
    await this.exited;
  }

  /** Resolves on the child's ready note (or markReady()); rejects with startError's error (the child ended) otherwise. */
  protected waitReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.failStart({ kind: 'timeout', readyTimeoutMs: this.timing.readyTimeoutMs }), this.timing.readyTimeoutMs);
      const onMessage = (message: unknown) => {
        const note = this.readNote(message);
        if (note?.type === 'ready') this.markReady();
        else if (note?.type === 'failed') this.failStart({ kind: 'failed', error: note.error });
      };
      this.runtime.on('message', onMessage);
      const settled = () => {
        clearTimeout(timer);
        this.runtime.off('message', onMessage);
        this.startWait = null;
      };
      this.startWait = {
        resolve: () => (settled(), resolve()),
        reject: (error) => (settled(), reject(error)),
      };
    });
  }

  /** The child is ready: from its ready note, or, for a child with no channel, when it answers a probe. */
  protected markReady(): void {
    if (this.phase !== 'starting') return;
    this.setPhase('running');
    this.startWait?.resolve();
  }

  private failStart(failure: StartFailure): void {
    if (this.phase !== 'starting') return;
    this.setPhase('failed');
    void Promise.resolve(this.force()).catch(() => undefined);
    // The wait is taken now: the error may take a moment to word (a log tail to read) and nothing else may settle it.
    const wait = this.startWait;
    this.startWait = null;
    whenWorded(() => this.startError(failure), (error) => wait?.reject(error), () => new ActorCrashedError(this.id, 'failed to start'));
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.phase === 'starting') this.failStart({ kind: 'exit', code, signal });
    // An exit nobody asked for is a crash, whatever its code (process.exit(0) inside a thread included).
    else if (this.phase === 'running') this.crash(() => this.exitError(code, signal));
    else if (this.phase === 'stopping') this.setPhase('stopped');
  }

  private onError(error: Error): void {
    if (this.phase === 'starting') this.failStart({ kind: 'error', error });
    else if (this.phase === 'running' && this.errorIsCrash) this.crash(() => new ActorCrashedError(this.id, `uncaught ${error.name}: ${error.message}`, { cause: error }));
    else if (this.phase !== 'crashed' && this.phase !== 'failed') this.log.warn({ child: this.id, phase: this.phase, err: error.message }, 'child channel error');
  }

  /** Final at once, so a second exit or error reports nothing; the listener hears once the error is worded. */
  private crash(word: () => UntradexError | Promise<UntradexError>): void {
    this.setPhase('crashed');
    whenWorded(word, (error) => this.crashListener?.(error), () => new ActorCrashedError(this.id, 'exited unasked'));
  }

  private setPhase(next: ChildPhase): void {
    this.log.debug({ child: this.id, from: this.phase, to: next }, 'child lifecycle');
    this.phase = next;
  }
}

/** Hands the error on at once when it is worded at once (a thread's, a process's), else once it is; `fallback` if wording fails. */
function whenWorded(word: () => UntradexError | Promise<UntradexError>, then: (error: UntradexError) => void, fallback: () => UntradexError): void {
  let worded: UntradexError | Promise<UntradexError>;
  try {
    worded = word();
  } catch {
    worded = fallback();
  }
  if (worded instanceof Promise) void worded.catch(fallback).then(then);
  else then(worded);
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal === null ? `code ${code}` : `code ${code}, signal ${signal}`;
}
