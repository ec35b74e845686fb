// The lifecycle every supervised child shares, on real worker threads and a real child process: a
// ready timeout ends the child, a stop that hangs is forced, and an unasked exit is one crash.

import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { pino } from 'pino';
import t from 'tap';
import type { UntradexError } from '../../../src/errors.js';
import { ActorThread } from '../../../supervisors/actor-thread.js';
import { ChildLifecycle, type LifecycleNote } from '../../../src/actor-runtime/child-lifecycle.js';
import type { TestActorApi, TestActorInit } from '../../fixtures/test-actor.js';

const log = pino({ level: 'silent' });
const entry = new URL('../../fixtures/test-actor.js', import.meta.url);

function startActor(init: Partial<TestActorInit>, timing: { readyTimeoutMs?: number; stopTimeoutMs?: number } = {}): Promise<ActorThread<TestActorApi>> {
  return ActorThread.start<TestActorInit, TestActorApi>({ id: 'probe', entry, init: { name: 'probe', ...init }, log, ...timing });
}

/** The smallest process child: the fixture answers `stop` by leaving, unless told to hang. */
class ProbeProcess extends ChildLifecycle {
  protected readonly exitsWhenStopped = true;
  protected readonly errorIsCrash = false;
  constructor(readonly child: ChildProcess, stopTimeoutMs: number) {
    super('probe-process', child, log, { readyTimeoutMs: 5_000, stopTimeoutMs });
  }
  static async start(args: string[], stopTimeoutMs = 5_000): Promise<ProbeProcess> {
    const child = fork(new URL('../../fixtures/lifecycle-process.js', import.meta.url), args, { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const probe = new ProbeProcess(child, stopTimeoutMs);
    await probe.waitReady();
    return probe;
  }
  protected readNote(message: unknown): LifecycleNote | null {
    return (message as { type?: unknown }).type === 'ready' ? { type: 'ready' } : null;
  }
  protected requestStop(): Promise<void> {
    this.child.send({ type: 'stop' });
    return once(this.child, 'message').then(() => undefined);
  }
  protected force(): void {
    this.child.kill('SIGKILL');
  }
}

t.test('a thread that never says ready fails its start with a coded error and is ended', async (t) => {
  const started = Date.now();
  const error = await startActor({ hangStart: true }, { readyTimeoutMs: 300 }).then(
    () => null,
    (reason: UntradexError) => reason,
  );
  t.match(error, { code: 'UX_ERR_ACTOR_CRASHED', actorId: 'probe' });
  t.ok(Date.now() - started < 5_000, 'within its ready timeout, not the default');
});

t.test('a thread whose stop never answers is terminated after its stop timeout, with no crash reported', async (t) => {
  const actor = await startActor({ hangStop: true }, { stopTimeoutMs: 300 });
  const crashes: UntradexError[] = [];
  actor.onCrash((error) => crashes.push(error));
  const started = Date.now();
  // stop() resolves only once the thread has exited.
  await actor.stop();
  const took = Date.now() - started;
  t.ok(took >= 280, `it waited for the graceful stop first (${took} ms)`);
  t.ok(took < 5_000, 'and then ended the thread rather than waiting on');
  t.same(crashes, [], 'an exit it was asked for is no crash');
});

for (const how of ['throw', 'exit0'] as const) {
  t.test(`a thread that dies unasked by ${how} is reported once, as UX_ERR_ACTOR_CRASHED`, async (t) => {
    const actor = await startActor({});
    const crashes: UntradexError[] = [];
    const first = new Promise<void>((resolve) => actor.onCrash((error) => (crashes.push(error), resolve())));
    await actor.api.crash(how);
    await first;
    // An uncaught exception is an 'error' and then an 'exit': both are heard, one is reported.
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.equal(crashes.length, 1);
    t.match(crashes[0], { code: 'UX_ERR_ACTOR_CRASHED', actorId: 'probe' });
    await actor.stop();
    t.equal(crashes.length, 1, 'stopping a crashed child reports nothing more');
  });
}

t.test('a process that leaves by itself after its stop answered is not forced', async (t) => {
  const probe = await ProbeProcess.start([]);
  const crashes: UntradexError[] = [];
  probe.onCrash((error) => crashes.push(error));
  const exit = once(probe.child, 'exit');
  await probe.stop();
  const [code, signal] = (await exit) as [number | null, NodeJS.Signals | null];
  t.same({ code, signal }, { code: 0, signal: null }, 'it exited on its own, not by SIGKILL');
  t.same(crashes, []);
});

t.test('a process that ignores its stop is killed after its stop timeout', async (t) => {
  const probe = await ProbeProcess.start(['--hang-stop'], 300);
  const exit = once(probe.child, 'exit');
  await probe.stop();
  const [, signal] = (await exit) as [number | null, NodeJS.Signals | null];
  t.equal(signal, 'SIGKILL');
});

t.test('a process that exits unasked, even with code 0, is one crash naming it', async (t) => {
  const probe = await ProbeProcess.start(['--exit-unasked']);
  const crash = await new Promise<UntradexError>((resolve) => probe.onCrash(resolve));
  t.match(crash, { code: 'UX_ERR_ACTOR_CRASHED', actorId: 'probe-process' });
  await probe.stop();
});
