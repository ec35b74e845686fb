// The figures of an exam-day run, shared by the one-process scenario (against the naive server)
// and the scale-out one (against one gateway process): the same names, so the tables line up.

import type { IngestMeasure } from './ingest.js';
import { fmt, type ResultWriter } from './results.js';
import type { RoundPair } from './rounds.js';

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
  add('cpuPerEventWhole', 'server + Redis CPU per acked event, the start spike\'s connects included', 'µs', 'lower', (m) => m.cpuPerEventWholeUs);
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

/**
 * Issue 13's targets for the spike shape (everyone arrives within a second and opens, answers at a
 * steady rate, all submit at once), against the naive server in the same run: CPU per acked event
 * with the connects included, and the p99 of the answers, the submits, connect-to-welcome and every
 * event, each at most the naive server's: medians when the pair has several rounds. `full` is false
 * for runs smaller than the issue's sizes.
 */
export function addSpikeTargets(result: ResultWriter, idPrefix: string, students: number, rounds: RoundPair, full: boolean): void {
  const n = students.toLocaleString('en-US');
  const cpuFigures = rounds.figure((m) => m.cpuPerEventWholeUs);
  const cpu = cpuFigures.measured.value / Math.max(1e-9, cpuFigures.baseline.value);
  result.target({ id: `${idPrefix}.cpu`, issue: 13, text: `spike of ${n}: CPU per acked event at most naive`, met: full ? cpu <= 1 : null, measured: `${fmt(cpu)}x (${fmt(cpuFigures.measured.value)} µs against ${fmt(cpuFigures.baseline.value)} µs, connects included${rounds.roundsText(cpuFigures)})` });
  const notAbove = (what: string, pick: (m: IngestMeasure) => number) => {
    const both = rounds.figure(pick);
    result.target({ id: `${idPrefix}.${what.replace(/\W+/g, '-')}`, issue: 13, text: `spike of ${n}: p99 of ${what} at most naive`, met: full ? both.measured.value <= both.baseline.value : null, measured: `${fmt(both.measured.value)} ms against ${fmt(both.baseline.value)} ms${rounds.roundsText(both)}` });
  };
  notAbove('answers', (m) => m.run.steady.p99Ms);
  notAbove('submits', (m) => m.run.end.p99Ms);
  notAbove('connect-to-welcome', (m) => m.connect.welcome.p99Ms);
  notAbove('every event', (m) => m.run.all.p99Ms);
}
