// Exam day: 19,000 students on one gateway process with appendfsync always. Everyone connects,
// says hello and opens the exam within one second, answers every 10 s, then everyone submits at once.

import './support/untapped.js';
import t from 'tap';
import { measured } from './support/load.js';
import { addDiskFigures, aofBytes } from './support/aof-size.js';
import { addExamDayFigures, addSpikeTargets } from './support/exam-day-figures.js';
import { RoundPair } from './support/rounds.js';
import { measureIngest, type IngestPlan } from './support/ingest.js';
import { fmt, ResultWriter } from './support/results.js';
import { startBenchNaive, startBenchUntradex } from './support/servers.js';
import { envInt } from './support/sizes.js';

const STUDENTS = envInt('UX_BENCH_EXAMDAY_STUDENTS', { small: 500, default: 19_000 });
const SECONDS = envInt('UX_BENCH_EXAMDAY_SECONDS', { small: 10, default: 40 });
const INTERVAL_S = envInt('UX_BENCH_EXAMDAY_INTERVAL_S', { small: 10, default: 10 });
const TARGET_STUDENTS = 19_000;
const TARGET_P99_MS = 50;

const result = new ResultWriter('exam-day', 'Exam day: start spike, one answer per student every 10 s, end spike (appendfsync always)');
Object.assign(result.sizes, { students: STUDENTS, steadySeconds: SECONDS, answerEverySeconds: INTERVAL_S });

const plan: IngestPlan = {
  students: STUDENTS,
  driver: 'client',
  connect: { mode: 'spike', windowMs: 1000, timeoutMs: 60_000, sendOpen: true },
  run: { kind: 'rate', durationMs: SECONDS * 1000, perStudentPerSecond: 1 / INTERVAL_S, endSpike: true, drainMs: 60_000 },
};

let aofGrowth = 0;
const ux = await measured(t, 'untradex', async (t) => {
  const server = await startBenchUntradex(t, { gateway: { maxConnections: Math.max(19_500, STUDENTS + 100) } });
  const before = aofBytes(server.ux.dataDir);
  const measure = await measureIngest(t, server, plan);
  aofGrowth = aofBytes(server.ux.dataDir) - before;
  return measure;
});
const naive = await measured(t, 'naive server', async (t) => measureIngest(t, await startBenchNaive(t, 'always'), plan));

addExamDayFigures(result, ux, naive, {
  idPrefix: 'examday',
  baselineLabel: 'naive server',
  welcomeLabel: 'p99 connect-to-welcome in the start spike',
  rssLabel: 'gateway process peak RSS',
});

addDiskFigures(result, 'examday', aofGrowth, ux.run.ackedTotal, ux.connect.welcomed);

result.target({
  id: 'examday.p99',
  text: `exam day with ${TARGET_STUDENTS.toLocaleString('en-US')} students: p99 ack latency at most ${TARGET_P99_MS} ms with appendfsync always`,
  met: STUDENTS < TARGET_STUDENTS ? null : ux.run.all.p99Ms <= TARGET_P99_MS && ux.connect.welcomed >= TARGET_STUDENTS,
  measured: `p99 ${fmt(ux.run.all.p99Ms)} ms over ${ux.run.all.count} events of ${ux.connect.welcomed} students (start spike ${fmt(ux.run.start.p99Ms)}, answers ${fmt(ux.run.steady.p99Ms)}, end spike ${fmt(ux.run.end.p99Ms)})`,
});
// The same shape is issue 13's spike at 19,000 students.
addSpikeTargets(result, 'examday.spike', STUDENTS, new RoundPair([ux], [naive]), STUDENTS >= TARGET_STUDENTS);
result.note(`Untradex: ${ux.connect.welcomed} opens, then ${ux.run.sent} answers and submits sent; ${ux.run.ackedTotal} events acked in all, ${ux.run.nacked} nacked, ${ux.run.pendingAtEnd} unacked when the drain ended; ${ux.run.errors} errors, ${ux.run.reconnects} reconnects.`);
result.note('The answers start once every student is welcomed (the connect phase waits for the last welcome, up to 60 s after the spike); the opens sent right after each welcome are the start spike\'s events.');
result.note('Latency is from the first send of an event to the ack that covers it, measured in the load generator (StudentClient), so it includes the load generator\'s own event-loop delay on this shared 2-core machine.');

t.comment(result.table());
t.equal(ux.run.pendingAtEnd, 0, 'untradex acked every event it was sent');
t.comment(`results: ${result.write()}`);
