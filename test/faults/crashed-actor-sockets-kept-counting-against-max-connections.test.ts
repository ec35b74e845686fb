// Regression: the process-wide socket count behind gateway.maxConnections lives in shared memory,
// and a connection actor that crashed never gave back the counts of the sockets it held. Each
// crash shrank the gateway for good, until reconnecting students were refused with 503.

import t from 'tap';
import { injectFault } from '../../src/actor-runtime/fault-injection.js';
import { pollSettled } from '../helpers/poll.js';
import { startUntradexInProcess } from '../helpers/untradex.js';
import { StudentLoad } from './support/student-load.js';
import { assertRedisHoldsLoad, recordFault } from './support/tally.js';

process.env.UX_FAULT_INJECTION = '1';

const STUDENTS = 30;

t.test('after two connection actor crashes, their students still fit under maxConnections', async (t) => {
  // Room for every student plus a few: any leaked count shows up as a refused reconnect.
  const ux = await startUntradexInProcess(t, { redis: { buckets: 8 }, gateway: { connectionActors: 2, maxConnections: STUDENTS + 2 } });
  const load = await StudentLoad.start(t, ux, { exam: 'LEAK', students: STUDENTS, answersEach: 120, pauseMs: 15, reconnect: { baseMs: 20, maxMs: 100 } });
  await load.ackedAtLeast(200);

  for (let crash = 1; crash <= 2; crash += 1) {
    // The actor holding the most students crashes.
    const actors = ux.app.root.connectionActors;
    const live = await Promise.all(actors.map(async (actor) => (await actor.api.status()).live));
    const held = Math.max(...live);
    const victim = actors[live.indexOf(held)]!;
    t.ok(held > 0, `crash ${crash}: ${victim.id} holds ${held} students`);
    await injectFault(victim.api, { point: 'now', action: 'exit' });
    // Its students come back: on the sibling while it restarts, or on its next incarnation.
    const back = await pollSettled(
      'the students to come back',
      async () => {
        const actors = ux.app.root.connectionActors;
        const restarted = actors.length === 2 && actors.every((actor) => actor.threadId !== victim.threadId);
        return { restarted, live: restarted ? (await Promise.all(actors.map((actor) => actor.api.status()))).reduce((total, status) => total + status.live, 0) : 0 };
      },
      (seen) => seen.live === STUDENTS,
      { timeoutMs: 15_000, intervalMs: 25 },
    );
    t.same(back, { restarted: true, live: STUDENTS }, `crash ${crash}: ${victim.id} restarted and all ${STUDENTS} students are connected again`);
  }
  // A reconnect may still be refused in the instant between the thread's death and its supervisor
  // hearing of it (the places are given back then); the clients retry, as above.
  await load.flushed();
  const tally = await assertRedisHoldsLoad(t, ux.redis(), load, 8, 'Redis');
  recordFault(
    'connection actor crashes at the connection cap',
    `the busiest of 2 connection actors exits twice, with gateway.maxConnections ${STUDENTS + 2} for ${STUDENTS} students`,
    tally,
    `Redis; every student got back in after each crash (the dead actor's places under the cap are given back; before the fix they were not)`,
  );
});
