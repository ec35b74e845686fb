// Fault 3: an actor that crashes in a loop. writer-0 dies on every batch it takes (a poison batch:
// each incarnation re-reads it from the ring and dies again), so after supervision.intensity
// restarts its supervisor gives up and escalates, and the CLI exits non-zero naming the actor
// instead of spinning. Started again without the fault, nothing that was acked is missing.

import t from 'tap';
import { FAULT_INJECTION_ENV, FAULT_PLAN_ENV, type PlannedFault } from '../../src/actor-runtime/fault-injection.js';
import { logLines, type LogLine } from '../helpers/log-lines.js';
import { startUntradexProcess } from '../helpers/untradex.js';
import { StudentLoad } from './support/student-load.js';
import { assertRedisHoldsLoad, recordFault } from './support/tally.js';

const BUCKETS = 16;
const INTENSITY = 2;

interface DrainLogLine extends LogLine {
  lostWriters?: string[];
}

t.test('a writer crashing on every batch makes the process give up and exit non-zero, naming it', async (t) => {
  // The CLI's actor threads inherit this environment: writer-0 dies after every FCALL, in every incarnation.
  const plan: PlannedFault[] = [{ actor: 'writer-0', point: 'writer.afterFcall', action: 'throw' }];
  process.env[FAULT_INJECTION_ENV] = '1';
  process.env[FAULT_PLAN_ENV] = JSON.stringify(plan);
  const ux = await startUntradexProcess(t, {
    redis: { buckets: BUCKETS, appendfsync: 'always' },
    gateway: { connectionActors: 2 },
    // The connection actors' own writes off: the crashing writer gets every batch of its buckets.
    writers: { count: 2, directInFlight: 0 },
    supervision: { intensity: INTENSITY, periodSeconds: 60 },
  });
  const exited = new Promise<number | null>((resolve) => ux.child.once('exit', (code) => resolve(code)));
  let fatalAt = 0;
  ux.child.stdout!.on('data', (chunk: Buffer) => {
    if (fatalAt === 0 && chunk.toString().includes('UX_ERR_RESTART_INTENSITY')) fatalAt = Date.now();
  });
  const load = await StudentLoad.start(t, ux, { exam: 'LOOP', students: 30, answersEach: 100, pauseMs: 20, reconnect: { baseMs: 50, maxMs: 300 } });

  const code = await exited;
  const exitMs = Date.now() - fatalAt;
  const ackedWhileDying = load.ackedTotal;
  t.not(code, 0, `the process exited non-zero (${code})`);
  const lines = logLines<DrainLogLine>(ux.output());
  const crashes = lines.filter((line) => line.msg === 'child crashed' && line.child === 'writer-0');
  t.equal(crashes.length, INTENSITY + 1, `writer-0 crashed ${INTENSITY + 1} times: the first start and ${INTENSITY} restarts`);
  t.ok(crashes.every((line) => line.code === 'UX_ERR_ACTOR_CRASHED'), 'each crash was reported with its code');
  const fatal = lines.find((line) => line.code === 'UX_ERR_RESTART_INTENSITY');
  t.match(fatal, { level: 60, actor: 'writer-0' }, 'the fatal log line names the actor that gave up');
  t.ok(ux.output().split('\n').some((line) => line.startsWith('untradex: ') && line.includes('writer-0')), 'the last words on stderr name the actor');
  t.equal(lines.filter((line) => line.msg === 'child crashed' && line.child !== 'writer-0').length, 0, 'no other actor crashed');
  // Regression: the drain on the way out waited its whole timeout (20 s) for events routed to the
  // writer that was gone; now it hands out the live writers' acks and leaves.
  t.ok(lines.some((line) => line.lostWriters?.includes('writer-0') === true), 'the drain knew writer-0 was gone and did not wait for it');

  // The same dataDir without the fault: the students reconnect and resend, and every event that
  // was acked before the process gave up is in Redis, once.
  delete process.env[FAULT_PLAN_ENV];
  await ux.restart();
  await load.flushed();
  const tally = await assertRedisHoldsLoad(t, ux.redis(), load, BUCKETS, 'Redis after the restart');
  t.equal(await ux.stop(), 0, 'the restarted process stops cleanly');
  recordFault(
    'restart intensity (crash loop)',
    `writer-0 throws after every FCALL, in every incarnation; supervision.intensity ${INTENSITY}; 30 students`,
    tally,
    `Redis; exit code ${code} after ${crashes.length} crashes, fatal UX_ERR_RESTART_INTENSITY naming writer-0, exit ${exitMs} ms after it; ${ackedWhileDying} events acked before it gave up, the rest after a restart without the fault`,
  );
});
