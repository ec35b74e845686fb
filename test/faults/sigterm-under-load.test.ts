// Fault 6: SIGTERM under student load. The process stops reading, the writers put everything the
// rings hold into Redis, the last acks go out, sockets close with 1001, and it exits 0: every
// event that reached Redis was acked, and every acked event is there, once.

import { performance } from 'node:perf_hooks';
import t from 'tap';
import { startUntradexProcess } from '../helpers/untradex.js';
import { StudentLoad } from './support/student-load.js';
import { assertExactlyOnce, recordFault, snapshotAcks, tallyRedis } from './support/tally.js';

const BUCKETS = 16;
const STUDENTS = 40;
const CLOSE_GOING_AWAY = 1001;

t.test('SIGTERM under load drains the rings, sends the last acks and exits 0', async (t) => {
  const ux = await startUntradexProcess(t, { redis: { buckets: BUCKETS, appendfsync: 'always' }, gateway: { connectionActors: 2 }, writers: { count: 2 } });
  // No reconnects: what each student holds as acked when its socket closes is the server's last word.
  const load = await StudentLoad.start(t, ux, { exam: 'SIGTERM', students: STUDENTS, answersEach: 400, pauseMs: 10, reconnect: false, submit: false });
  await load.ackedAtLeast(800);

  const termAt = performance.now();
  const code = await ux.stop();
  t.equal(code, 0, 'exit code 0');
  await load.created();
  const acked = snapshotAcks(load);
  const ackedAfterTerm = load.students.reduce((total, student) => total + student.settled.filter((event) => event.settledAt !== null && event.settledAt > termAt).length, 0);
  const codes = new Set(load.students.flatMap((student) => student.closeCodes));
  t.same([...codes], [CLOSE_GOING_AWAY], 'every socket was closed with 1001 (going away), none cut');

  // Start it again on the same dataDir, only to read what Redis kept.
  await ux.restart();
  const tally = await tallyRedis(ux.redis(), acked, BUCKETS);
  assertExactlyOnce(t, tally, 'Redis');
  t.equal(tally.storedUnacked, 0, 'every event that reached Redis was acked before the socket closed');
  t.equal(await ux.stop(), 0, "the restarted process stops cleanly");
  recordFault(
    'SIGTERM under load',
    `SIGTERM to the CLI while ${STUDENTS} students send; graceful drain, then restart to read Redis`,
    tally,
    `Redis; exit code ${code}; ${ackedAfterTerm} events were acked after the SIGTERM (in the rings or in flight when it came); ${tally.storedUnacked} stored but unacked`,
  );
});
