// Fault injection is for tests only: without UX_FAULT_INJECTION=1 in the process that starts the
// actors, no actor has an injectFault method and a fault plan in the environment is ignored.

import t from 'tap';
import { FAULT_PLAN_ENV, faults, injectFault, withFaultInjection } from '../../src/actor-runtime/fault-injection.js';
import { runExamTraffic } from '../helpers/exam-traffic.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

t.test('without UX_FAULT_INJECTION=1 the API is untouched and nothing can be armed', async (t) => {
  const api = { stop: async () => undefined };
  t.equal(withFaultInjection(api, 'writer-0', {}), api, 'the same object, no injectFault');
  t.equal(withFaultInjection(api, 'writer-0', { UX_FAULT_INJECTION: 'yes' }), api, 'only exactly 1 turns it on');
  t.equal(faults.armed, false);
});

t.test('with it on, specs are checked and the plan is read per actor', async (t) => {
  const api = { stop: async () => undefined };
  const env = { UX_FAULT_INJECTION: '1', [FAULT_PLAN_ENV]: JSON.stringify([{ actor: 'other', point: 'writer.afterFcall', action: 'exit' }]) };
  const wrapped = withFaultInjection(api, 'writer-0', env) as typeof api & { injectFault(spec: unknown): Promise<void> };
  t.type(wrapped.injectFault, 'function', 'injectFault is added');
  t.equal(faults.armed, false, "another actor's planned fault is not armed here");
  await t.rejects(wrapped.injectFault({ point: 'nowhere', action: 'throw' }), { code: 'UX_ERR_CONFIG' });
  await t.rejects(wrapped.injectFault({ point: 'writer.afterFcall', action: 'explode' }), { code: 'UX_ERR_CONFIG' });
  await t.rejects(wrapped.injectFault({ point: 'writer.afterFcall', action: 'exit', nth: 0 }), { code: 'UX_ERR_CONFIG' });
  t.throws(() => withFaultInjection(api, 'writer-0', { UX_FAULT_INJECTION: '1', [FAULT_PLAN_ENV]: '{nope' }), { code: 'UX_ERR_CONFIG' });
  t.equal(faults.armed, false, 'nothing was armed by the refused specs');
});

t.test('a real Untradex started without it refuses injectFault and ignores a fault plan', async (t) => {
  delete process.env.UX_FAULT_INJECTION;
  process.env[FAULT_PLAN_ENV] = JSON.stringify([{ actor: 'writer-0', point: 'writer.afterFcall', action: 'exit' }]);
  t.teardown(() => {
    delete process.env[FAULT_PLAN_ENV];
  });
  const ux = await startUntradexInProcess(t, { redis: { buckets: 4 }, gateway: { connectionActors: 1 }, writers: { count: 1 } });
  await t.rejects(injectFault(ux.app.root.writerActors[0]!.api, { point: 'now', action: 'exit' }), 'the actor has no injectFault');
  await t.rejects(injectFault(ux.app.root.connectionActors[0]!.api, { point: 'now', action: 'exit' }), 'nor does a connection actor');
  const expected = await runExamTraffic(ux, 'INERT', { students: 10, questions: 3, changes: 2, submitEvery: 1 }, (fn) => t.teardown(fn));
  const status = await ux.api<{ actors: Array<{ id: string; restarts: number }>; events: { stored: number } }>('GET', '/api/status');
  t.equal(status.body.events.stored, expected.events, 'every event was written');
  t.same(status.body.actors.map((actor) => actor.restarts), status.body.actors.map(() => 0), 'no actor crashed: the plan was ignored');
});
