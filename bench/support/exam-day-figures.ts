// The figures of an exam-day run, shared by the one-process scenario (against the naive server)
// and the scale-out one (against one gateway process): the same names, so the tables line up.

import type { IngestMeasure } from './ingest.js';
import type { ResultWriter } from './results.js';

export interface ExamDayFigureOptions {
  /** Prefix of every figure id: `examday` or `fleet.examday`. */
  idPrefix: string;
  baselineLabel: string;
  /** What connect-to-welcome counts from, said in its label. */
  welcomeLabel: string;
  /** The server whose peak RSS is shown. */
  rssLabel: string;
}

export function addExamDayFigures(result: ResultWriter, measured: IngestMeasure, baseline: IngestMeasure, options: ExamDayFigureOptions): void {
  const add = (id: string, label: string, unit: string, better: 'higher' | 'lower', pick: (m: IngestMeasure) => number) =>
    result.add({ id: `${options.idPrefix}.${id}`, label, value: pick(measured), unit, better, baseline: { label: options.baselineLabel, value: pick(baseline) } });

  add('p99', 'p99 ack latency, every event of the run', 'ms', 'lower', (m) => m.run.all.p99Ms);
  add('p999', 'p99.9 ack latency, every event of the run', 'ms', 'lower', (m) => m.run.all.p999Ms);
  add('max', 'max ack latency', 'ms', 'lower', (m) => m.run.all.maxMs);
  add('p50', 'p50 ack latency', 'ms', 'lower', (m) => m.run.all.p50Ms);
  add('startP99', 'p99 ack latency of the opens in the start spike', 'ms', 'lower', (m) => m.run.start.p99Ms);
  add('steadyP99', 'p99 ack latency of the answers', 'ms', 'lower', (m) => m.run.steady.p99Ms);
  add('endP99', 'p99 ack latency of the submits in the end spike', 'ms', 'lower', (m) => m.run.end.p99Ms);
  add('endLast', 'end spike: last submit acked after', 'ms', 'lower', (m) => m.run.endSpike.lastAckMs);
  add('welcomeP99', options.welcomeLabel, 'ms', 'lower', (m) => m.connect.welcome.p99Ms);
  add('welcomed', 'students welcomed', 'students', 'higher', (m) => m.connect.welcomed);
  add('rate', 'acked events/s during the steady phase', 'events/s', 'higher', (m) => m.run.ackedPerSecond);
  add('cpuPerEvent', 'server + Redis CPU per acked event', 'µs', 'lower', (m) => m.cpuPerEventUs);
  add('serverRss', options.rssLabel, 'MiB', 'lower', (m) => m.serverRssPeakMiB);
  add('errors', 'errors seen by the students (err frames and socket errors)', 'errors', 'lower', (m) => m.run.errors);
  add('reconnects', 'reconnects', 'reconnects', 'lower', (m) => m.run.reconnects);
  add('loadShare', 'load generator share of the CPU used', '%', 'lower', (m) => m.loadCpuShare * 100);
  if (measured.loopDelay !== null && baseline.loopDelay !== null) {
    result.add({
      id: `${options.idPrefix}.loopMax`,
      label: 'worst connection-actor event-loop delay between the spikes (10 s windows)',
      value: measured.loopDelay.connections.maxMs,
      unit: 'ms',
      better: 'lower',
      baseline: { label: options.baselineLabel, value: baseline.loopDelay.connections.maxMs },
    });
  }
}
