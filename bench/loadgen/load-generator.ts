// The load coordinator: forks the load processes (each capped at 20,000 open files, so big runs
// need several), starts every phase at one absolute time in all of them, and merges their reports.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mergeEncoded, summarize, type LatencySummary } from './latency.js';
import type { ConnectPlan, ConnectReport, CoordinatorMessage, DriverKind, RunPlan, RunReport, WorkerInit, WorkerMessage } from './plan.js';

export interface LoadOptions {
  url: string;
  exam: string;
  secret: string;
  students: number;
  processes: number;
  driver: DriverKind;
  localAddresses: string[];
  studentPrefix?: string;
}

export interface ConnectResult {
  welcomed: number;
  failed: number;
  welcome: LatencySummary;
  wallMs: number;
  loadCpuSeconds: number;
}

export interface RunResult {
  start: LatencySummary;
  steady: LatencySummary;
  end: LatencySummary;
  /** Every acked event of the run, whatever its phase. */
  all: LatencySummary;
  sent: number;
  ackedInWindow: number;
  ackedTotal: number;
  ackedDuringRun: number;
  ackedPerSecond: number;
  /** Acked events in each whole second of the window, summed over the processes. */
  perSecond: number[];
  nacked: number;
  errors: number;
  reconnects: number;
  notReady: number;
  endSpike: { sent: number; acked: number; lastAckMs: number };
  pendingAtEnd: number;
  loadCpuSeconds: number;
  wallMs: number;
}

type Phase = 'connected' | 'ran' | 'closed';

class LoadProcess {
  private readonly waiters = new Map<string, { resolve(m: WorkerMessage): void; reject(e: Error): void }>();
  private output = '';
  exited = false;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000)));
    child.stderr?.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000)));
    child.on('message', (message: WorkerMessage) => {
      if (message.op === 'failed') return this.failAll(new Error(`load process ${child.pid} failed: ${message.message}`));
      const waiter = this.waiters.get(message.op);
      this.waiters.delete(message.op);
      waiter?.resolve(message);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.failAll(new Error(`load process ${child.pid} exited (${code ?? signal}):\n${this.output}`));
    });
  }

  expect(op: 'ready' | Phase, timeoutMs: number): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load process ${this.child.pid}: no "${op}" within ${timeoutMs} ms\n${this.output}`)), timeoutMs);
      this.waiters.set(op, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  send(message: CoordinatorMessage): void {
    this.child.send(message);
  }

  private failAll(error: Error): void {
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }
}

export class LoadGenerator {
  private constructor(
    private readonly processes: LoadProcess[],
    readonly options: LoadOptions,
  ) {}

  /** Forks the load processes and waits until each has minted its tokens and built its students. */
  static async start(options: LoadOptions): Promise<LoadGenerator> {
    const script = fileURLToPath(new URL('./load-worker.js', import.meta.url));
    const n = Math.max(1, Math.min(options.processes, options.students));
    const per = Math.ceil(options.students / n);
    const processes: LoadProcess[] = [];
    for (let i = 0; i < n; i++) {
      const first = i * per;
      const count = Math.min(per, options.students - first);
      if (count <= 0) break;
      const init: WorkerInit = {
        index: i,
        url: options.url,
        exam: options.exam,
        secret: options.secret,
        studentPrefix: options.studentPrefix ?? 'S',
        firstStudent: first,
        count,
        localAddresses: options.localAddresses,
        driver: options.driver,
      };
      const child = fork(script, [JSON.stringify(init)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: ['--max-old-space-size=4096'] });
      processes.push(new LoadProcess(child));
    }
    const generator = new LoadGenerator(processes, options);
    try {
      await Promise.all(processes.map((p) => p.expect('ready', 120_000)));
    } catch (error) {
      generator.kill();
      throw error;
    }
    return generator;
  }

  get pids(): number[] {
    return this.processes.map((p) => p.child.pid!);
  }

  async connect(plan: Omit<ConnectPlan, 'at'>): Promise<ConnectResult> {
    const full: ConnectPlan = { ...plan, at: Date.now() + 500 };
    const replies = await this.all('connected', { op: 'connect', plan: full }, plan.windowMs + plan.timeoutMs + 60_000);
    const reports = replies.map((m) => (m as { report: ConnectReport }).report);
    const welcome = mergeEncoded(reports.map((r) => r.welcomeLatency));
    const result: ConnectResult = {
      welcomed: total(reports, (r) => r.welcomed),
      failed: total(reports, (r) => r.failed),
      welcome: summarize(welcome),
      wallMs: Math.max(...reports.map((r) => r.wallMs)),
      loadCpuSeconds: total(reports, (r) => r.cpuSeconds),
    };
    welcome.destroy();
    return result;
  }

  async run(plan: DistributiveOmit<RunPlan, 'at'>): Promise<RunResult> {
    const full = { ...plan, at: Date.now() + 300 } as RunPlan;
    const replies = await this.all('ran', { op: 'run', plan: full }, plan.durationMs + plan.drainMs + 120_000);
    const reports = replies.map((m) => (m as { report: RunReport }).report);
    const phase = (pick: (r: RunReport) => string) => {
      const merged = mergeEncoded(reports.map(pick));
      const summary = summarize(merged);
      merged.destroy();
      return summary;
    };
    const all = mergeEncoded(reports.flatMap((r) => [r.histograms.start, r.histograms.steady, r.histograms.end]));
    const perSecond: number[] = [];
    for (const r of reports) r.perSecond.forEach((count, i) => (perSecond[i] = (perSecond[i] ?? 0) + count));
    const ackedInWindow = total(reports, (r) => r.ackedInWindow);
    const result: RunResult = {
      start: phase((r) => r.histograms.start),
      steady: phase((r) => r.histograms.steady),
      end: phase((r) => r.histograms.end),
      all: summarize(all),
      sent: total(reports, (r) => r.sent),
      ackedInWindow,
      ackedTotal: total(reports, (r) => r.ackedTotal),
      ackedDuringRun: total(reports, (r) => r.ackedDuringRun),
      ackedPerSecond: ackedInWindow / (plan.durationMs / 1000),
      perSecond,
      nacked: total(reports, (r) => r.nacked),
      errors: total(reports, (r) => r.errors),
      reconnects: total(reports, (r) => r.reconnects),
      notReady: total(reports, (r) => r.notReady),
      endSpike: {
        sent: total(reports, (r) => r.endSpike.sent),
        acked: total(reports, (r) => r.endSpike.acked),
        lastAckMs: Math.max(...reports.map((r) => r.endSpike.lastAckMs)),
      },
      pendingAtEnd: total(reports, (r) => r.pendingAtEnd),
      loadCpuSeconds: total(reports, (r) => r.cpuSeconds),
      wallMs: Math.max(...reports.map((r) => r.wallMs)),
    };
    all.destroy();
    return result;
  }

  /** Closes every socket, then lets the processes exit; kills whatever is left after 30 s. */
  async close(): Promise<void> {
    const alive = this.processes.filter((p) => !p.exited);
    await Promise.allSettled(alive.map((p) => {
      const done = p.expect('closed', 30_000);
      p.send({ op: 'close' });
      return done;
    }));
    this.kill();
  }

  kill(): void {
    for (const p of this.processes) if (!p.exited) p.child.kill('SIGKILL');
  }

  private all(op: Phase, message: CoordinatorMessage, timeoutMs: number): Promise<WorkerMessage[]> {
    return Promise.all(
      this.processes.map((p) => {
        const reply = p.expect(op, timeoutMs);
        p.send(message);
        return reply;
      }),
    );
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function total<T>(items: readonly T[], pick: (item: T) => number): number {
  let sum = 0;
  for (const item of items) sum += pick(item);
  return sum;
}
