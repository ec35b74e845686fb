// Fault 2: a Redis writer actor crashes in the middle of a batch under student load: after Redis
// answered its FCALLs but before any ack was posted, and separately after the acks were posted but
// before the ring space was freed. It restarts, re-reads the batch from its rings, Redis answers
// the second write as duplicates, and every acked event is stored exactly once.

import t from 'tap';
import { injectFault, type FaultSpec } from '../../src/actor-runtime/fault-injection.js';
import { startUntradexInProcess } from '../helpers/untradex.js';
import { StudentLoad } from './support/student-load.js';
import { waitFor } from '../helpers/poll.js';
import { assertRedisHoldsLoad, recordFault } from './support/tally.js';

process.env.UX_FAULT_INJECTION = '1';

const BUCKETS = 16;

const CASES: Array<{ fault: FaultSpec; what: string }> = [
  { fault: { point: 'writer.afterFcall', action: 'throw' }, what: 'throws after its FCALLs were answered, before any ack was posted' },
  { fault: { point: 'writer.afterAcks', action: 'exit' }, what: 'calls process.exit(1) after posting acks, before freeing ring space' },
];

for (const { fault, what } of CASES) {
  t.test(`writer-0 ${what}`, async (t) => {
    // The connection actors' own writes off: every event goes through the writers, one of which dies.
    const ux = await startUntradexInProcess(t, { redis: { buckets: BUCKETS }, gateway: { connectionActors: 2 }, writers: { count: 2, directInFlight: 0 } });
    const load = await StudentLoad.start(t, ux, { exam: `WCRASH-${fault.point}`, students: 40, answersEach: 80, pauseMs: 15 });
    await load.ackedAtLeast(300);

    const victim = ux.app.root.writerActors.find((writer) => writer.id === 'writer-0')!;
    const firstThread = victim.threadId;
    await injectFault(victim.api, fault);
    await waitFor('writer-0 restarted', () => ux.app.root.writerActors.some((writer) => writer.id === 'writer-0' && writer.threadId !== firstThread));
    const restarted = ux.app.root.writerActors.find((writer) => writer.id === 'writer-0')!;

    await load.flushed();
    const status = await ux.api<{ actors: Array<{ id: string; restarts: number; lastError: string | null }> }>('GET', '/api/status');
    t.match(status.body.actors.find((actor) => actor.id === 'writer-0'), { restarts: 1, lastError: /^UX_ERR_ACTOR_CRASHED/ }, 'its supervisor restarted it once');
    t.match(status.body.actors.find((actor) => actor.id === 'writer-1'), { restarts: 0 }, 'the other writer was not restarted');
    const after = await restarted.api.status();
    t.ok(after.duplicates > 0, `the new incarnation re-read the batch in flight and Redis answered it as duplicates (${after.duplicates})`);
    t.equal(load.students.reduce((total, student) => total + student.disconnects, 0), 0, 'no student lost its socket');

    const tally = await assertRedisHoldsLoad(t, ux.redis(), load, BUCKETS, 'Redis');
    recordFault(
      `writer crash mid-batch (${fault.point})`,
      `writer-0 of 2 ${what}; 40 students`,
      tally,
      `Redis; the restarted writer got ${after.duplicates} duplicates back for the batch it re-read`,
    );
  });
}
