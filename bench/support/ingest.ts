// One ingest measurement against one server: connect the students, run the workload while the
// server's and its Redis's CPU and RSS are sampled from /proc, and derive the per-event figures.

import { cpus } from 'node:os';
import type { ConnectResult, RunResult } from '../loadgen/load-generator.js';
import type { ConnectPlan, DriverKind, RunPlan } from '../loadgen/plan.js';
import { CpuMeter, sampleRss, type CpuWindow } from './proc-stats.js';
import { withLoad, type BenchTest } from './load.js';
import { formatSummary } from '../loadgen/latency.js';
import { histogramSince, quantileBoundMs, type HistogramSnapshot } from '../../src/telemetry/latency-histogram.js';
import { fmt } from './results.js';
import type { ActorLoopDelay, BenchServer } from './servers.js';

export interface IngestMeasure {
  connect: ConnectResult;
  run: RunResult;
  cpu: CpuWindow;
  serverRssPeakMiB: number;
  redisRssPeakMiB: number;
  /** Server plus Redis CPU during the run over the events acked during it, µs. */
  cpuPerEventUs: number;
  /**
   * Server plus Redis CPU from the first connect to the end of the drain over every event acked
   * (the start spike's handshakes and opens included), µs: what a whole exam costs per event.
   */
  cpuPerEventWholeUs: number;
  /**
   * cpuPerEventWholeUs split: the server's busiest thread (the loop reading the sockets) and every
   * other thread of the server (V8's compiler and GC threads, writers, supervisor), Redis not
   * counted, µs. Says whether a gap in CPU is the socket loop's code or the work around it.
   */
  busiestThreadCpuPerEventWholeUs: number;
  otherThreadsCpuPerEventWholeUs: number;
  /** Server plus Redis context switches (thread wake-ups) during the run over the events acked during it. */
  wakeupsPerEvent: number;
  /** The same from the first connect to the end of the drain, over every event acked. */
  wakeupsPerEventWhole: number;
  /** The load generator's part of all CPU used during the run (it shares the machine). */
  loadCpuShare: number;
  /** All CPU used during the run over what the machine's cores could give. */
  machineBusy: number;
  /** Untradex only: the worst actor event-loop delay seen during the run (10 s windows), ms. */
  loopDelay: ActorLoopDelay | null;
  /** What holding every student connected and silent costs (plan.quiet), or null when not asked. */
  quiet: QuietFigures | null;
  /**
   * Untradex only: its own receive-to-ack latency over the run and drain, from frame decoded to ack
   * written (the histogram of /api/status, so each figure is a bucket's upper bound). Beside the
   * students' latency it says whether a tail is inside the server or around it (kernel, the load
   * generator's own turn on the cores). Null for the naive server.
   */
  serverAck: ServerLatencyWindow | null;
  /**
   * Untradex only: its own stages of the connect phase (bucket bounds, as serverAck): accepted to
   * 101 written (upgrade), 101 to hello read (helloWait), hello read to welcome sent (welcome).
   * Against the students' connect-to-welcome they say where that wait went. Null otherwise.
   */
  serverConnect: { upgrade: ServerLatencyWindow; helloWait: ServerLatencyWindow; welcome: ServerLatencyWindow } | null;
}

/** A window of one of Untradex's latency histograms, in bucket bounds. */
export interface ServerLatencyWindow {
  count: number;
  /** Upper bounds of the buckets holding the 50th and 99th percentiles, ms. */
  p50AtMostMs: number;
  p99AtMostMs: number;
  meanMs: number;
}

/** The run's part of a since-start histogram (after minus before), as bucket bounds. */
export function histogramWindow(before: HistogramSnapshot, after: HistogramSnapshot): ServerLatencyWindow {
  const window = histogramSince(before, after);
  return { count: window.count, p50AtMostMs: quantileBoundMs(window, 0.5), p99AtMostMs: quantileBoundMs(window, 0.99), meanMs: window.count === 0 ? 0 : window.sumMs / window.count };
}

/** A window with every student connected and nobody sending: presence, liveness and timers only. */
export interface QuietFigures {
  seconds: number;
  /** Server processes, % of one core. */
  serverCorePercent: number;
  redisCorePercent: number;
  /** AOF growth, bytes/s (Untradex's embedded Redis only; null otherwise). */
  aofBytesPerSecond: number | null;
  /** `connected` summed over the exam list at the end of the window (null: not an Untradex server). */
  connected: number | null;
}

/** The server's loop-delay windows (src/telemetry/event-loop-delay.ts). */
const LOOP_WINDOW_MS = 10_000;

/**
 * Polls the server's actor loop delays every 5 s and keeps the worst. A reading covers the last
 * full 10 s window, which may have begun up to 20 s earlier: readings start two windows into the
 * run, or the connect phase (the start spike's handshakes) would count as the run's. A run too
 * short for that reports null.
 */
function watchLoopDelay(server: BenchServer): () => Promise<ActorLoopDelay | null> {
  const read = server.loopDelay;
  if (read === undefined) return async () => null;
  const worst: ActorLoopDelay = { connections: { p99Ms: 0, maxMs: 0 }, writers: { p99Ms: 0, maxMs: 0 } };
  const from = Date.now() + 2 * LOOP_WINDOW_MS;
  let taken = false;
  const take = async () => {
    if (Date.now() < from) return;
    const now = await read().catch(() => null);
    if (now === null) return;
    taken = true;
    for (const kind of ['connections', 'writers'] as const) {
      worst[kind].p99Ms = Math.max(worst[kind].p99Ms, now[kind].p99Ms);
      worst[kind].maxMs = Math.max(worst[kind].maxMs, now[kind].maxMs);
    }
  };
  const timer = setInterval(() => void take(), 5_000);
  return async () => {
    clearInterval(timer);
    await take();
    return taken ? worst : null;
  };
}

export interface IngestPlan {
  students: number;
  driver: DriverKind;
  connect: Omit<ConnectPlan, 'at'>;
  run: RunPlan extends infer P ? (P extends unknown ? Omit<P, 'at'> : never) : never;
  /**
   * Between the connect and the run: wait settleMs (the presence of the last welcomes is written),
   * then measure windowMs with everyone connected and silent.
   */
  quiet?: { settleMs: number; windowMs: number };
}

async function measureQuiet(server: BenchServer, quiet: { settleMs: number; windowMs: number }): Promise<QuietFigures> {
  await new Promise((resolve) => setTimeout(resolve, quiet.settleMs));
  const meter = new CpuMeter(server.pids);
  const aofBefore = server.aofBytes?.() ?? null;
  meter.begin();
  await new Promise((resolve) => setTimeout(resolve, quiet.windowMs));
  const cpu = meter.end();
  const aofAfter = server.aofBytes?.() ?? null;
  return {
    seconds: cpu.wallSeconds,
    serverCorePercent: (cpu.serverCpuSeconds / cpu.wallSeconds) * 100,
    redisCorePercent: (cpu.redisCpuSeconds / cpu.wallSeconds) * 100,
    aofBytesPerSecond: aofBefore === null || aofAfter === null ? null : (aofAfter - aofBefore) / cpu.wallSeconds,
    connected: server.connectedStudents === undefined ? null : await server.connectedStudents(),
  };
}

export async function measureIngest(t: BenchTest, server: BenchServer, plan: IngestPlan): Promise<IngestMeasure> {
  return withLoad(server, { students: plan.students, driver: plan.driver }, async (load) => {
    const rss = sampleRss(server.pids);
    const whole = new CpuMeter(server.pids);
    whole.begin();
    const connectBefore = server.connectLatency === undefined ? null : await server.connectLatency();
    const connect = await load.connect(plan.connect);
    const connectAfter = connectBefore === null || server.connectLatency === undefined ? null : await server.connectLatency();
    const serverConnect =
      connectBefore === null || connectAfter === null
        ? null
        : { upgrade: histogramWindow(connectBefore.upgrade, connectAfter.upgrade), helloWait: histogramWindow(connectBefore.helloWait, connectAfter.helloWait), welcome: histogramWindow(connectBefore.welcome, connectAfter.welcome) };
    const stage = (name: string, window: ServerLatencyWindow) => `${name} p50 <= ${fmt(window.p50AtMostMs)} ms, p99 <= ${fmt(window.p99AtMostMs)} ms, mean ${fmt(window.meanMs)} ms`;
    t.comment(
      `connected: ${connect.welcomed} welcomed, ${connect.failed} not, welcome ${formatSummary(connect.welcome)}` +
        (serverConnect === null
          ? ''
          : `; the server's own stages: ${stage('accepted to 101 written', serverConnect.upgrade)}; ${stage('101 to hello read', serverConnect.helloWait)}; ${stage('hello to welcome', serverConnect.welcome)}`),
    );
    const quiet = plan.quiet === undefined ? null : await measureQuiet(server, plan.quiet);
    if (quiet !== null) {
      t.comment(
        `quiet ${fmt(quiet.seconds)} s with ${connect.welcomed} connected (the exam list says ${quiet.connected ?? 'n/a'}): server ${fmt(quiet.serverCorePercent)} % of a core, ` +
          `redis ${fmt(quiet.redisCorePercent)} %, AOF ${quiet.aofBytesPerSecond === null ? 'n/a' : `${fmt(quiet.aofBytesPerSecond / 1024)} KiB/s`}`,
      );
    }
    const ackBefore = server.ackLatency === undefined ? null : await server.ackLatency();
    const meter = new CpuMeter(server.pids);
    meter.begin();
    const loopWatch = watchLoopDelay(server);
    const run = await load.run(plan.run);
    const cpu = meter.end();
    const wholeCpu = whole.end();
    const loopDelay = await loopWatch();
    const serverAck = ackBefore === null || server.ackLatency === undefined ? null : histogramWindow(ackBefore, await server.ackLatency());
    const peaks = rss.stop();
    const serverCpu = cpu.serverCpuSeconds + cpu.redisCpuSeconds;
    const measure: IngestMeasure = {
      connect,
      run,
      cpu,
      serverRssPeakMiB: peaks.serverPeakBytes / 2 ** 20,
      redisRssPeakMiB: peaks.redisPeakBytes / 2 ** 20,
      cpuPerEventUs: run.ackedDuringRun === 0 ? 0 : (serverCpu / run.ackedDuringRun) * 1e6,
      cpuPerEventWholeUs: run.ackedTotal === 0 ? 0 : ((wholeCpu.serverCpuSeconds + wholeCpu.redisCpuSeconds) / run.ackedTotal) * 1e6,
      busiestThreadCpuPerEventWholeUs: run.ackedTotal === 0 ? 0 : (wholeCpu.busiestThreadCpuSeconds / run.ackedTotal) * 1e6,
      otherThreadsCpuPerEventWholeUs: run.ackedTotal === 0 ? 0 : (Math.max(0, wholeCpu.serverCpuSeconds - wholeCpu.busiestThreadCpuSeconds) / run.ackedTotal) * 1e6,
      wakeupsPerEvent: run.ackedDuringRun === 0 ? 0 : (cpu.serverWakeups + cpu.redisWakeups) / run.ackedDuringRun,
      wakeupsPerEventWhole: run.ackedTotal === 0 ? 0 : (wholeCpu.serverWakeups + wholeCpu.redisWakeups) / run.ackedTotal,
      loadCpuShare: run.loadCpuSeconds / Math.max(1e-9, run.loadCpuSeconds + serverCpu),
      machineBusy: (run.loadCpuSeconds + serverCpu) / (cpu.wallSeconds * cpus().length),
      loopDelay,
      quiet,
      serverAck,
      serverConnect,
    };
    t.comment(
      `run: sent ${run.sent}, acked ${run.ackedTotal} (${fmt(run.ackedPerSecond)}/s in the window), nacked ${run.nacked}, errors ${run.errors}, reconnects ${run.reconnects}, pending at end ${run.pendingAtEnd}\n` +
        `latency all ${formatSummary(run.all)}\n` +
        `server CPU ${fmt(cpu.serverCpuSeconds)} s + redis ${fmt(cpu.redisCpuSeconds)} s over ${fmt(cpu.wallSeconds)} s; load generator ${fmt(run.loadCpuSeconds)} s (${fmt(measure.loadCpuShare * 100)}% of the CPU used); ${fmt(measure.cpuPerEventUs)} µs server CPU per event, ${fmt(measure.wakeupsPerEvent)} wake-ups per event (server ${cpu.serverWakeups}, redis ${cpu.redisWakeups})\n` +
        `from the first connect: server CPU ${fmt(wholeCpu.serverCpuSeconds)} s, of which its busiest thread ${fmt(wholeCpu.busiestThreadCpuSeconds)} s and its other threads ${fmt(Math.max(0, wholeCpu.serverCpuSeconds - wholeCpu.busiestThreadCpuSeconds))} s (each read in 10 ms clock ticks); redis ${fmt(wholeCpu.redisCpuSeconds)} s` +
        (serverAck === null ? '' : `\nthe server's own receive-to-ack over ${serverAck.count} events: p50 <= ${fmt(serverAck.p50AtMostMs)} ms, p99 <= ${fmt(serverAck.p99AtMostMs)} ms, mean ${fmt(serverAck.meanMs)} ms`) +
        (loopDelay === null ? '' : `\nworst actor event-loop delay: connection actors p99 ${fmt(loopDelay.connections.p99Ms)} ms, max ${fmt(loopDelay.connections.maxMs)} ms; writers p99 ${fmt(loopDelay.writers.p99Ms)} ms, max ${fmt(loopDelay.writers.maxMs)} ms`),
    );
    return measure;
  });
}
