// The one-for-one supervisor with real worker threads: restarts after an uncaught exception and
// after process.exit (even with code 0), escalates past its intensity, stops in reverse order.

import t from 'tap';
import { pino } from 'pino';
import { ActorThread } from '../../../supervisors/actor-thread.js';
import { growingRestartDelay, type ChildSpec } from '../../../supervisors/supervisor-spec.js';
import { Supervisor } from '../../../supervisors/supervisor.js';
import type { RestartIntensityError } from '../../../src/errors.js';
import type { TestActorApi, TestActorInit } from '../../fixtures/test-actor.js';

const log = pino({ level: 'silent' });
const entry = new URL('../../fixtures/test-actor.js', import.meta.url);
type TestActor = ActorThread<TestActorApi>;

function spec(id: string, init: Partial<TestActorInit> = {}): ChildSpec<TestActor> {
  return {
    id,
    restart: 'permanent',
    shutdownMs: 5_000,
    start: () => ActorThread.start<TestActorInit, TestActorApi>({ id, entry, init: { name: id, ...init }, log }),
  };
}

function restarted(supervisor: Supervisor<TestActor>, id: string): Promise<number> {
  return new Promise((resolve) => {
    const onStarted = (childId: string, _handle: TestActor, incarnation: number) => {
      if (childId !== id) return;
      supervisor.off('started', onStarted);
      resolve(incarnation);
    };
    supervisor.on('started', onStarted);
  });
}

for (const how of ['throw', 'exit0', 'exit1'] as const) {
  t.test(`a child that crashes by ${how} is restarted and answers again`, async (t) => {
    const supervisor = new Supervisor<TestActor>('test', { strategy: 'one_for_one', intensity: 3, periodSeconds: 10 }, [spec('a'), spec('b')], log);
    t.teardown(() => supervisor.stop());
    await supervisor.start();
    const firstB = supervisor.handle('b')!;
    const next = restarted(supervisor, 'a');
    await supervisor.handle('a')!.api.crash(how);
    t.equal(await next, 2, 'the second incarnation started');
    t.equal(await supervisor.handle('a')!.api.ping(), 'pong from a');
    t.equal(supervisor.handle('b'), firstB, 'one-for-one: the sibling was not touched');
    t.match(supervisor.report().find((child) => child.id === 'a'), { status: 'running', incarnation: 2, restarts: 1, lastError: /UX_ERR_ACTOR_CRASHED/ });
  });
}

t.test('past its intensity the supervisor gives up and escalates, naming the actor', async (t) => {
  const supervisor = new Supervisor<TestActor>('test', { strategy: 'one_for_one', intensity: 2, periodSeconds: 30 }, [spec('looping')], log);
  t.teardown(() => supervisor.stop());
  const escalated = new Promise<RestartIntensityError>((resolve) => supervisor.once('escalate', resolve));
  await supervisor.start();
  for (let crash = 0; crash < 2; crash += 1) {
    const next = restarted(supervisor, 'looping');
    await supervisor.handle('looping')!.api.crash('throw');
    await next;
  }
  await supervisor.handle('looping')!.api.crash('throw');
  const error = await escalated;
  t.equal(error.code, 'UX_ERR_RESTART_INTENSITY');
  t.equal(error.actorId, 'looping');
  t.match(supervisor.report()[0], { status: 'failed', restarts: 2 });
});

t.test('a child that fails to start makes start() reject with a coded error, and stops its elders', async (t) => {
  const stopLog = new SharedArrayBuffer(16);
  const supervisor = new Supervisor<TestActor>('test', { strategy: 'one_for_one', intensity: 1, periodSeconds: 10 }, [spec('ok', { stopLog, stopMark: 7 }), spec('bad', { failStart: true })], log);
  await t.rejects(supervisor.start(), { code: 'UX_ERR_ACTOR_CRASHED' });
  t.same([...new Int32Array(stopLog)].slice(0, 2), [1, 7], 'the child started before it was stopped');
});

t.test('children stop in reverse start order', async (t) => {
  const stopLog = new SharedArrayBuffer(16);
  const supervisor = new Supervisor<TestActor>('test', { strategy: 'one_for_one', intensity: 1, periodSeconds: 10 }, [1, 2, 3].map((mark) => spec(`c${mark}`, { stopLog, stopMark: mark })), log);
  await supervisor.start();
  await supervisor.stop();
  t.same([...new Int32Array(stopLog)], [3, 3, 2, 1]);
});

t.test('a restart delay holds the child back, and stop() during the delay starts nothing more', async (t) => {
  const delays: number[] = [];
  const delayed: ChildSpec<TestActor> = { ...spec('slow'), restartDelayMs: (n) => (delays.push(n), 300 * n) };
  const supervisor = new Supervisor<TestActor>('test', { strategy: 'one_for_one', intensity: 5, periodSeconds: 60 }, [delayed], log);
  await supervisor.start();
  const next = restarted(supervisor, 'slow');
  const crashedAt = Date.now();
  await supervisor.handle('slow')!.api.crash('throw');
  t.equal(await next, 2, 'restarted');
  t.ok(Date.now() - crashedAt >= 280, 'not before its delay');
  t.same(delays, [1], 'the delay was asked for the first restart in the period');
  let startedAgain = false;
  supervisor.on('started', () => (startedAgain = true));
  await supervisor.handle('slow')!.api.crash('throw');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.match(supervisor.report()[0], { status: 'restarting' }, 'waiting out the second, longer delay');
  await supervisor.stop();
  await new Promise((resolve) => setTimeout(resolve, 800));
  t.equal(startedAgain, false, 'stop() cancelled the pending restart');
  t.match(supervisor.report()[0], { status: 'stopped' });
});

t.test('growingRestartDelay doubles up to its cap', async (t) => {
  const delay = growingRestartDelay(250, 8_000);
  t.same([1, 2, 3, 4, 5, 6, 7].map(delay), [250, 500, 1000, 2000, 4000, 8000, 8000]);
});
