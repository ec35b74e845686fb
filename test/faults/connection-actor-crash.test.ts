// Fault 1: a connection actor crashes under student load, by an uncaught exception and by
// process.exit inside its thread. Its supervisor restarts it, its students reconnect and resend,
// the other actor's students never notice, the port keeps accepting, and nothing acked is lost.

import t from 'tap';
import { injectFault, type FaultAction } from '../../src/actor-runtime/fault-injection.js';
import { startUntradexInProcess } from '../helpers/untradex.js';
import { probePort } from './support/port-probe.js';
import { spreadOverActors } from './support/spread-over-actors.js';
import { StudentLoad } from './support/student-load.js';
import { waitFor } from '../helpers/poll.js';
import { assertRedisHoldsLoad, recordFault } from './support/tally.js';

// Read by the actor threads this file starts (they inherit the environment at spawn).
process.env.UX_FAULT_INJECTION = '1';

const BUCKETS = 16;

for (const action of ['throw', 'exit'] as const satisfies readonly FaultAction[]) {
  t.test(`connection-0 crashes by ${action === 'throw' ? 'an uncaught exception' : 'process.exit'} under load`, async (t) => {
    const ux = await startUntradexInProcess(t, { redis: { buckets: BUCKETS }, gateway: { connectionActors: 2 }, writers: { count: 2 } });
    const exam = `CRASH-${action}`;
    const load = await StudentLoad.start(t, ux, { exam, students: 40, answersEach: 80, pauseMs: 15 });
    await spreadOverActors(ux, load, 5);
    await load.ackedAtLeast(400);
    // Moving students around above cost some of them a socket: count only what the crash costs.
    const disconnectsBefore = new Map(load.students.map((student) => [student.id, student.disconnects]));
    const reconnectsBefore = new Map(load.students.map((student) => [student.id, student.client.stats.reconnects]));

    const [victim, sibling] = ux.app.root.connectionActors;
    const victimBefore = await victim!.api.status();
    const siblingBefore = await sibling!.api.status();
    t.ok(victimBefore.live >= 5 && siblingBefore.live >= 5, `both actors hold students (${victimBefore.live} and ${siblingBefore.live})`);
    t.equal(victimBefore.live + siblingBefore.live, 40, 'every student is on one of the two actors');
    const firstThread = victim!.threadId;
    // Between the crash and the restart the supervisor holds no handle for connection-0.
    const victimDown = () => ux.app.root.connectionActors.every((actor) => actor.id !== 'connection-0');

    const probeTokens = Object.values(await ux.tokens(exam, ['P0', 'P1', 'P2', 'P3']));
    const probes = probePort(ux.gatewayUrl, probeTokens, victimDown);
    // The next event connection-0 takes off a socket crashes it, mid-traffic.
    await injectFault(victim!.api, { point: 'connection.event', action });

    await waitFor('connection-0 restarted', () => {
      const restarted = ux.app.root.connectionActors.find((actor) => actor.id === 'connection-0');
      return restarted !== undefined && restarted.threadId !== firstThread;
    });
    await load.flushed();
    const probed = await probes.stop();

    const status = await ux.api<{ actors: Array<{ id: string; restarts: number; lastError: string | null }> }>('GET', '/api/status');
    t.match(status.body.actors.find((actor) => actor.id === 'connection-0'), { restarts: 1, lastError: /^UX_ERR_ACTOR_CRASHED/ }, 'its supervisor restarted it once');
    t.match(status.body.actors.find((actor) => actor.id === 'connection-1'), { restarts: 0 }, 'the sibling was not restarted');

    const cutOff = load.students.filter((student) => student.disconnects > disconnectsBefore.get(student.id)!);
    t.equal(cutOff.length, victimBefore.live, 'exactly the crashed actor\'s students lost their socket');
    t.ok(cutOff.every((student) => student.client.stats.reconnects > reconnectsBefore.get(student.id)!), 'and each of them reconnected');
    t.equal(load.students.length - cutOff.length, siblingBefore.live, 'the other actor\'s students were untouched');

    t.equal(probed.refused, 0, `the port never refused a connection (${probed.attempts} probes)`);
    // The restarted thread must load its modules and reach Redis before it listens again: far
    // longer than one probe's round trip, so probes land inside the gap, on the sibling.
    t.ok(probed.welcomedDuringFault > 0, `probes were welcomed while connection-0 was down (${probed.welcomedDuringFault})`);

    const tally = await assertRedisHoldsLoad(t, ux.redis(), load, BUCKETS, 'Redis');
    t.equal(load.students.reduce((total, student) => total + student.nacks, 0), 0, 'nothing was refused');
    recordFault(
      `connection actor crash (${action === 'throw' ? 'uncaught exception' : 'process.exit'})`,
      `connection-0 of 2 ${action === 'throw' ? 'throws' : 'calls process.exit(1)'} while reading an event; 40 students, 2 writers`,
      tally,
      `Redis; ${cutOff.length} students reconnected, ${siblingBefore.live} untouched; ${probed.attempts} port probes, ${probed.refused} refused, ${probed.welcomedDuringFault} welcomed while connection-0 was down`,
    );
  });
}
