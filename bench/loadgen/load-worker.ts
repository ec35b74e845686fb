// One load-generator process (forked by LoadGenerator): mints its students' tokens, connects them
// at the coordinator's times, runs the workload, and reports histograms and counts back over IPC.

import type { EventKind } from '../../src/events/answer-event.js';
import { mintStudentToken } from '../../src/auth/student-token.js';
import { encodeHistogram, newHistogram, recordMs, type Histogram } from './latency.js';
import type { ConnectPlan, CoordinatorMessage, RunPlan, WorkerInit, WorkerMessage } from './plan.js';
import { ClientStudent, RawStudent, type AckSink, type StudentDriver } from './student-driver.js';

const init = JSON.parse(process.argv[2] ?? '{}') as WorkerInit;
const reply = (message: WorkerMessage) => process.send?.(message);
const sleepUntil = (epochMs: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));

const VALUES = ['A', 'B', 'C', 'D'];

/** What the run is collecting now; swapped per phase. */
class RunState implements AckSink {
  start: Histogram = newHistogram();
  steady: Histogram = newHistogram();
  end: Histogram = newHistogram();
  ackedTotal = 0;
  ackedInWindow = 0;
  nackCount = 0;
  perSecond: number[] = [];
  // No window until a run opens one: acks of the connect phase (the opens) are not throughput.
  windowStart = Infinity;
  windowEnd = -Infinity;
  endSpikeAt = 0;
  endAcked = 0;
  lastEndAckMs = 0;
  /** Closed loop: called after every acked event to send the next one. */
  refill: ((student: StudentDriver) => void) | null = null;

  acked(student: StudentDriver, kind: EventKind, latencyMs: number): void {
    this.ackedTotal++;
    const now = performance.now();
    if (kind === 'open') recordMs(this.start, latencyMs);
    else if (kind === 'answer') recordMs(this.steady, latencyMs);
    else {
      recordMs(this.end, latencyMs);
      this.endAcked++;
      this.lastEndAckMs = now - this.endSpikeAt;
    }
    if (now >= this.windowStart && now < this.windowEnd) {
      this.ackedInWindow++;
      const second = Math.floor((now - this.windowStart) / 1000);
      this.perSecond[second] = (this.perSecond[second] ?? 0) + 1;
      this.refill?.(student);
    }
  }

  nacked(): void {
    this.nackCount++;
  }
}

const state = new RunState();
const students: StudentDriver[] = [];
for (let i = 0; i < init.count; i++) {
  const global = init.firstStudent + i;
  const token = mintStudentToken(init.secret, { exam: init.exam, student: `${init.studentPrefix}${global}`, expiresAt: Math.floor(Date.now() / 1000) + 6 * 3600 });
  const options = { index: global, url: init.url, token, localAddress: init.localAddresses[global % init.localAddresses.length]!, sink: state };
  students.push(init.driver === 'raw' ? new RawStudent(options) : new ClientStudent(options));
}
reply({ op: 'ready' });

async function connectAll(plan: ConnectPlan): Promise<void> {
  const welcomeLatency = newHistogram();
  const cpu = process.cpuUsage();
  await sleepUntil(plan.at);
  const started = performance.now();
  let welcomed = 0;
  const n = students.length;
  const limit = plan.maxInFlight ?? Infinity;
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  const all = students.map(
    (student, i) =>
      new Promise<void>((resolve) => {
        const offset = plan.mode === 'spike' ? Math.random() * plan.windowMs : (i / n) * plan.windowMs;
        setTimeout(() => {
          // Latency counts from the planned moment, so time spent waiting for a turn is in it.
          const t0 = performance.now();
          const go = () => {
            inFlight++;
            const done = () => {
              inFlight--;
              waiting.shift()?.();
              resolve();
            };
            student.connect().then(
              () => {
                recordMs(welcomeLatency, performance.now() - t0);
                welcomed++;
                if (plan.sendOpen) student.send('open', null, null);
                done();
              },
              done,
            );
          };
          if (inFlight < limit) go();
          else waiting.push(go);
        }, offset);
      }),
  );
  await Promise.race([Promise.all(all), new Promise((resolve) => setTimeout(resolve, plan.windowMs + plan.timeoutMs))]);
  const used = process.cpuUsage(cpu);
  reply({
    op: 'connected',
    report: { welcomed, failed: n - welcomed, welcomeLatency: encodeHistogram(welcomeLatency), wallMs: performance.now() - started, cpuSeconds: (used.user + used.system) / 1e6 },
  });
}

async function run(plan: RunPlan): Promise<void> {
  const ready = students.filter((s) => s.welcomed);
  const baseErrors = sum(students, (s) => s.errors);
  const baseReconnects = sum(students, (s) => s.reconnects);
  const counters = { sent: 0, endSent: 0 };
  const sendAnswer = (student: StudentDriver, k: number) => {
    student.send('answer', `Q${(k % 40) + 1}`, VALUES[k % 4]!);
    counters.sent++;
  };
  await sleepUntil(plan.at);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const ackedBefore = state.ackedTotal;
  state.ackedInWindow = 0;
  state.windowStart = started;
  state.windowEnd = started + plan.durationMs;
  state.perSecond = new Array<number>(Math.ceil(plan.durationMs / 1000)).fill(0);

  if (plan.kind === 'closed') {
    const sentBy = new Map<StudentDriver, number>();
    state.refill = (student) => {
      const k = (sentBy.get(student) ?? 0) + 1;
      sentBy.set(student, k);
      sendAnswer(student, k);
    };
    for (const student of ready) for (let w = 0; w < plan.window; w++) state.refill(student);
    await sleep(plan.durationMs);
    state.refill = null;
  } else {
    await openLoop(ready, plan.perStudentPerSecond, plan.durationMs, sendAnswer);
    if (plan.endSpike) {
      state.endSpikeAt = performance.now();
      for (const student of ready) {
        student.send('submit', null, null);
        counters.endSent++;
      }
    }
  }
  const drainUntil = performance.now() + plan.drainMs;
  while (performance.now() < drainUntil && sum(ready, (s) => s.pending) > 0) await sleep(50);
  const used = process.cpuUsage(cpu);
  reply({
    op: 'ran',
    report: {
      histograms: { start: encodeHistogram(state.start), steady: encodeHistogram(state.steady), end: encodeHistogram(state.end) },
      sent: counters.sent + counters.endSent,
      ackedInWindow: state.ackedInWindow,
      ackedTotal: state.ackedTotal,
      ackedDuringRun: state.ackedTotal - ackedBefore,
      nacked: state.nackCount,
      errors: sum(students, (s) => s.errors) - baseErrors,
      reconnects: sum(students, (s) => s.reconnects) - baseReconnects,
      notReady: students.length - ready.length,
      perSecond: state.perSecond,
      endSpike: { sent: counters.endSent, acked: state.endAcked, lastAckMs: state.lastEndAckMs },
      pendingAtEnd: sum(ready, (s) => s.pending),
      cpuSeconds: (used.user + used.system) / 1e6,
      wallMs: performance.now() - started,
    },
  });
}

/**
 * Every student sends one answer per 1/rate seconds at its own random phase. One 5 ms tick walks a
 * wheel of 10 ms slots instead of keeping a timer per student.
 */
async function openLoop(ready: StudentDriver[], rate: number, durationMs: number, sendAnswer: (s: StudentDriver, k: number) => void): Promise<void> {
  if (ready.length === 0 || rate <= 0) return sleep(durationMs);
  const periodMs = 1000 / rate;
  const slotMs = 10;
  const slots = Math.max(1, Math.round(periodMs / slotMs));
  const wheel: StudentDriver[][] = Array.from({ length: slots }, () => []);
  for (const student of ready) wheel[Math.floor(Math.random() * slots)]!.push(student);
  const counts = new Map<StudentDriver, number>();
  const started = performance.now();
  let nextSlot = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
        return;
      }
      const due = Math.floor(elapsed / slotMs);
      for (; nextSlot <= due; nextSlot++) {
        for (const student of wheel[nextSlot % slots]!) {
          const k = (counts.get(student) ?? 0) + 1;
          counts.set(student, k);
          sendAnswer(student, k);
        }
      }
    }, 5);
  });
}

async function closeAll(): Promise<void> {
  await Promise.race([Promise.all(students.map((s) => s.close().catch(() => undefined))), sleep(15_000)]);
  reply({ op: 'closed' });
  // Let the IPC message leave before exiting.
  setTimeout(() => process.exit(0), 100);
}

function sum(list: readonly StudentDriver[], pick: (s: StudentDriver) => number): number {
  let total = 0;
  for (const item of list) total += pick(item);
  return total;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

process.on('message', (message: CoordinatorMessage) => {
  const work = message.op === 'connect' ? connectAll(message.plan) : message.op === 'run' ? run(message.plan) : closeAll();
  work.catch((error: unknown) => reply({ op: 'failed', message: (error as Error).stack ?? String(error) }));
});
// The coordinator going away ends this process too.
process.on('disconnect', () => process.exit(0));
