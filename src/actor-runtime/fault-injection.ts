// Named fault points for the fault tests (test/faults/): crash an actor thread at a chosen line.
// Inert unless UX_FAULT_INJECTION=1 is set in the process that starts the actors; see docs/RELIABILITY.md.

import { ActorCrashedError, UntradexError } from '../errors.js';
import type { Remote } from './comlink-port.js';

/** Setting this to `1` in the process that starts the actors turns fault injection on. */
export const FAULT_INJECTION_ENV = 'UX_FAULT_INJECTION';
/** JSON array of PlannedFault: faults armed in every incarnation of the named actors at spawn. */
export const FAULT_PLAN_ENV = 'UX_FAULT_PLAN';

/**
 * Where a fault can fire:
 * - `now`: as soon as it is armed (an actor that crashes out of the blue);
 * - `connection.event`: a connection actor took a student's event off a socket;
 * - `connection.claim`: a connection actor is about to send a hello's session claim to Redis;
 * - `connection.claimReply`: Redis answered a session claim, the connection actor has not looked yet;
 * - `connection.directWrite`: a connection actor is about to send its own write of a student's events (writers.directInFlight);
 * - `writer.afterFcall`: a writer's FCALLs were answered by Redis, no ack posted, no ring space freed;
 * - `writer.afterAcks`: the acks were posted, the ring space not yet freed;
 * - `exporter.afterCommit`: an exporter committed a bucket, which the job has not yet marked done.
 */
export type FaultPoint = 'now' | 'connection.event' | 'connection.claim' | 'connection.claimReply' | 'connection.directWrite' | 'writer.afterFcall' | 'writer.afterAcks' | 'exporter.afterCommit';
const POINTS: ReadonlySet<string> = new Set<FaultPoint>([
  'now',
  'connection.event',
  'connection.claim',
  'connection.claimReply',
  'connection.directWrite',
  'writer.afterFcall',
  'writer.afterAcks',
  'exporter.afterCommit',
]);

/**
 * `throw`: an uncaught exception in the thread; `exit`: process.exit(1) inside the thread;
 * `delay`: the code at an asynchronous point waits `delayMs` and goes on (a slow claim on a busy
 * worker, made repeatable).
 */
export type FaultAction = 'throw' | 'exit' | 'delay';

export interface FaultSpec {
  point: FaultPoint;
  action: FaultAction;
  /** Fire the n-th time the point is reached in this thread (default 1). */
  nth?: number;
  /** With `delay`: how long, ms. */
  delayMs?: number;
}

export interface PlannedFault extends FaultSpec {
  /** The actor id (`writer-0`, `connection-1`) whose every incarnation gets this fault. */
  actor: string;
}

/** The method added to every actor's control API when fault injection is on. */
export interface FaultInjectionApi {
  injectFault(spec: FaultSpec): Promise<void>;
}

export function faultInjectionEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[FAULT_INJECTION_ENV] === '1';
}

class FaultPoints {
  /** The only thing production paths read: false unless a test armed a fault in this thread. */
  armed = false;
  private actorId = 'unknown';
  private readonly pending: Array<{ spec: FaultSpec; remaining: number }> = [];

  identify(actorId: string): void {
    this.actorId = actorId;
  }

  arm(spec: FaultSpec): void {
    validate(spec);
    if (spec.point === 'now') {
      // After the current turn, so the comlink reply to injectFault still goes out.
      setImmediate(() => this.fire(spec));
      return;
    }
    this.pending.push({ spec, remaining: spec.nth ?? 1 });
    this.armed = true;
  }

  /** A synchronous point: crashes the thread (an uncaught throw on the next turn, or exit now). */
  hit(point: FaultPoint): void {
    const spec = this.take(point);
    if (spec !== null) this.fire(spec);
  }

  /**
   * An asynchronous point: when a crash fires, the caller never resumes (the promise never
   * settles), so nothing after the point runs before the thread dies; a delay resolves late.
   */
  reach(point: FaultPoint): Promise<void> {
    const spec = this.take(point);
    if (spec === null) return Promise.resolve();
    if (spec.action === 'delay') return new Promise<void>((resolve) => setTimeout(resolve, spec.delayMs ?? 0));
    this.fire(spec);
    return new Promise<void>(() => undefined);
  }

  private take(point: FaultPoint): FaultSpec | null {
    const index = this.pending.findIndex((entry) => entry.spec.point === point);
    if (index < 0) return null;
    const entry = this.pending[index]!;
    entry.remaining -= 1;
    if (entry.remaining > 0) return null;
    this.pending.splice(index, 1);
    this.armed = this.pending.length > 0;
    return entry.spec;
  }

  private fire(spec: FaultSpec): void {
    if (spec.action === 'delay') return;
    if (spec.action === 'exit') process.exit(1);
    const error = new ActorCrashedError(this.actorId, `fault injected at ${spec.point}`);
    setImmediate(() => {
      throw error;
    });
  }
}

/** This thread's fault points (each worker thread has its own module instance). */
export const faults = new FaultPoints();

function validate(spec: FaultSpec): void {
  const nth = spec.nth ?? 1;
  const delayOk = spec.action !== 'delay' || (Number.isInteger(spec.delayMs) && (spec.delayMs ?? -1) >= 0);
  if (!POINTS.has(spec.point) || !['throw', 'exit', 'delay'].includes(spec.action) || !Number.isInteger(nth) || nth < 1 || !delayOk) {
    throw new UntradexError(
      'UX_ERR_CONFIG',
      `bad fault spec ${JSON.stringify(spec)}: point one of ${[...POINTS].join(', ')}, action throw, exit or delay (with delayMs >= 0), nth >= 1`,
    );
  }
}

function plannedFor(actorId: string, env: NodeJS.ProcessEnv): FaultSpec[] {
  const text = env[FAULT_PLAN_ENV];
  if (text === undefined || text === '') return [];
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch (error) {
    throw new UntradexError('UX_ERR_CONFIG', `${FAULT_PLAN_ENV} is not JSON`, { cause: error });
  }
  if (!Array.isArray(plan)) throw new UntradexError('UX_ERR_CONFIG', `${FAULT_PLAN_ENV} must be a JSON array of faults`);
  return (plan as PlannedFault[]).filter((fault) => fault.actor === actorId).map(({ point, action, nth, delayMs }) => ({ point, action, nth, delayMs }));
}

/**
 * Called by hostActor inside the thread: with injection off, returns `api` untouched; with it on,
 * arms this actor's planned faults and adds `injectFault` to the API the supervisor reaches.
 */
export function withFaultInjection<Api extends object>(api: Api, actorId: string, env: NodeJS.ProcessEnv = process.env): Api {
  if (!armPlannedFaults(actorId, env)) return api;
  const injectFault = async (spec: FaultSpec): Promise<void> => faults.arm(spec);
  return { ...api, injectFault };
}

/**
 * Called inside a thread that has no control API (an exporter in the piscina pool): with injection
 * on, arms this thread's planned faults and returns true; with it off, does nothing.
 */
export function armPlannedFaults(actorId: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!faultInjectionEnabled(env)) return false;
  faults.identify(actorId);
  for (const spec of plannedFor(actorId, env)) faults.arm(spec);
  return true;
}

/** For tests: arms a fault in the actor behind `api` (rejects when injection is off there). */
export function injectFault(api: Remote<object>, spec: FaultSpec): Promise<void> {
  return (api as unknown as Remote<FaultInjectionApi>).injectFault(spec);
}
