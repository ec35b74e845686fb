// A one-for-one supervisor: starts children in order, stops them in reverse, restarts a crashed
// child, and past its restart intensity gives up and escalates to its parent.

import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { RestartIntensityError, UntradexError } from '../src/errors.js';
import type { ChildHandle, ChildReport, ChildSpec, ChildStatus, SupervisorFlags } from './supervisor-spec.js';

interface ChildState<H extends ChildHandle> {
  spec: ChildSpec<H>;
  handle: H | null;
  status: ChildStatus;
  incarnation: number;
  restarts: number;
  /** Times of recent restarts (ms), pruned to the intensity period. */
  restartTimes: number[];
  lastError: string | null;
  /** A restart waiting out its delay, or a start in flight: stop() cancels or waits for it. */
  restartTimer: NodeJS.Timeout | null;
  starting: Promise<void> | null;
}

export interface SupervisorEvents<H extends ChildHandle> {
  /** A child was (re)started; the handle is the new one. */
  started: [id: string, handle: H, incarnation: number];
  /** The supervisor gave up; its parent decides what happens next. */
  escalate: [error: RestartIntensityError];
}

/** A supervisor is itself a child of its parent: its escalation is the parent's crash report. */
export class Supervisor<H extends ChildHandle = ChildHandle> extends EventEmitter<SupervisorEvents<H>> implements ChildHandle {
  private readonly children: ChildState<H>[];
  private stopping = false;

  constructor(
    readonly name: string,
    private readonly flags: SupervisorFlags,
    specs: readonly ChildSpec<H>[],
    private readonly log: Logger,
  ) {
    super();
    this.children = specs.map((spec) => ({
      spec,
      handle: null,
      status: 'stopped',
      incarnation: 0,
      restarts: 0,
      restartTimes: [],
      lastError: null,
      restartTimer: null,
      starting: null,
    }));
  }

  /** Starts every child in order; a child that fails to start stops the ones before it. */
  async start(): Promise<void> {
    for (const child of this.children) {
      try {
        await this.startChild(child);
      } catch (error) {
        await this.stop();
        throw error;
      }
    }
  }

  /** Stops every child in reverse order, each within its shutdownMs. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const child of [...this.children].reverse()) {
      if (child.restartTimer !== null) {
        clearTimeout(child.restartTimer);
        child.restartTimer = null;
        this.setStatus(child, 'stopped');
      }
      // A restart in flight finishes (or fails) first, so the child it makes is stopped too.
      if (child.starting !== null) await withDeadline(child.starting.catch(() => undefined), child.spec.shutdownMs);
      const handle = child.handle;
      if (handle === null) continue;
      this.setStatus(child, 'stopping');
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, child.spec.shutdownMs, 'timeout').unref());
      const outcome = await Promise.race([handle.stop().then(() => 'stopped' as const), deadline]).catch((error: unknown) => {
        this.log.warn({ child: child.spec.id, err: error }, 'child failed while stopping');
        return 'stopped' as const;
      });
      if (outcome === 'timeout') this.log.warn({ child: child.spec.id, ms: child.spec.shutdownMs }, 'child did not stop in time');
      child.handle = null;
      this.setStatus(child, 'stopped');
    }
  }

  onCrash(listener: (error: UntradexError) => void): void {
    this.on('escalate', listener);
  }

  handle(id: string): H | null {
    return this.children.find((child) => child.spec.id === id)?.handle ?? null;
  }

  handles(): H[] {
    return this.children.flatMap((child) => (child.handle === null ? [] : [child.handle]));
  }

  report(): ChildReport[] {
    return this.children.map((child) => ({
      id: child.spec.id,
      status: child.status,
      incarnation: child.incarnation,
      restarts: child.restarts,
      lastError: child.lastError,
    }));
  }

  /** True when every child that should run is running. */
  allRunning(): boolean {
    return this.children.every((child) => child.status === 'running' || child.spec.restart === 'temporary');
  }

  private startChild(child: ChildState<H>): Promise<void> {
    const starting = this.startChildOnce(child).finally(() => {
      if (child.starting === starting) child.starting = null;
    });
    child.starting = starting;
    return starting;
  }

  private async startChildOnce(child: ChildState<H>): Promise<void> {
    child.incarnation += 1;
    this.setStatus(child, child.incarnation === 1 ? 'starting' : 'restarting');
    const handle = await child.spec.start(child.incarnation);
    if (this.stopping && child.incarnation > 1) {
      // stop() came while this restart was in flight: the new child must not outlive its supervisor.
      await handle.stop();
      this.setStatus(child, 'stopped');
      return;
    }
    child.handle = handle;
    handle.onCrash((error) => this.onChildCrash(child, handle, error));
    this.setStatus(child, 'running');
    this.emit('started', child.spec.id, handle, child.incarnation);
  }

  private onChildCrash(child: ChildState<H>, handle: H, error: UntradexError): void {
    if (child.handle !== handle) return; // a stale report from an incarnation already replaced
    child.handle = null;
    child.lastError = `${error.code}: ${error.message}`;
    this.log.error({ child: child.spec.id, incarnation: child.incarnation, code: error.code, err: error }, 'child crashed');
    if (this.stopping || child.spec.restart === 'temporary') {
      this.setStatus(child, 'stopped');
      return;
    }
    const now = Date.now();
    const periodMs = this.flags.periodSeconds * 1000;
    child.restartTimes = child.restartTimes.filter((time) => now - time < periodMs);
    if (child.restartTimes.length >= this.flags.intensity) {
      this.setStatus(child, 'failed');
      const escalation = new RestartIntensityError(child.spec.id, child.restartTimes.length + 1, this.flags.periodSeconds, { cause: error });
      this.emit('escalate', escalation);
      return;
    }
    child.restartTimes.push(now);
    child.restarts += 1;
    const delayMs = child.spec.restartDelayMs?.(child.restartTimes.length) ?? 0;
    if (delayMs <= 0) {
      this.restartChild(child);
      return;
    }
    this.setStatus(child, 'restarting');
    this.log.warn({ child: child.spec.id, delayMs, restartsInPeriod: child.restartTimes.length }, 'restarting the child after a delay');
    child.restartTimer = setTimeout(() => {
      child.restartTimer = null;
      if (!this.stopping) this.restartChild(child);
    }, delayMs);
  }

  private restartChild(child: ChildState<H>): void {
    this.startChild(child).catch((startError: unknown) => {
      const wrapped =
        startError instanceof UntradexError ? startError : new UntradexError('UX_ERR_ACTOR_CRASHED', String(startError), { cause: startError });
      // A child that cannot even start counts as another crash, so intensity still bounds the loop.
      const placeholder = { stop: async () => {}, onCrash: () => {} } as unknown as H;
      child.handle = placeholder;
      this.onChildCrash(child, placeholder, wrapped);
    });
  }

  private setStatus(child: ChildState<H>, status: ChildStatus): void {
    if (child.status === status) return;
    this.log.debug({ supervisor: this.name, child: child.spec.id, from: child.status, to: status }, 'child status');
    child.status = status;
  }
}

function withDeadline(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
}
