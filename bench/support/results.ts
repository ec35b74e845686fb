// The figures of one benchmark as data: each with its baseline and ratio, the issue's targets
// met or missed, and the machine, commit and sizes; written as JSON for scripts/bench-results.mjs.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/config/load-config.js';
import { benchEnv, benchScale } from './sizes.js';

export interface Spread {
  min: number;
  median: number;
  max: number;
  /** What was repeated: runs, seconds of a run, ... */
  over: string;
}

export interface Figure {
  id: string;
  label: string;
  value: number;
  unit: string;
  /** Which direction is good; the ratio is always value / baseline. */
  better: 'higher' | 'lower';
  spread?: Spread;
  baseline?: { label: string; value: number };
  ratio?: number;
  note?: string;
}

export interface TargetCheck {
  id: string;
  /** The issue that set the target: 5 (benchmarks) unless a scenario says otherwise. */
  issue?: number;
  /** The target as its issue states it. */
  text: string;
  /** null: not measured in this run (e.g. a size below the target's). */
  met: boolean | null;
  measured: string;
}

export interface BenchResult {
  name: string;
  title: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  commit: string;
  command: string;
  scale: string;
  env: Record<string, string>;
  sizes: Record<string, number | string>;
  machine: MachineInfo;
  figures: Figure[];
  targets: TargetCheck[];
  notes: string[];
}

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  redis: string;
  postgres: string;
  kernel: string;
}

/** How this result was produced: the npm script that ran it, or the tap command line. */
function benchCommand(): string {
  const script = process.env['npm_lifecycle_event'];
  if (script === 'bench' || script === 'bench:scale-out') return `npm run ${script}`;
  return `npx tap ${process.argv.slice(1).join(' ')}`;
}

/**
 * bench/results/, committed with the RESULTS.md made from them, so a later run of one command
 * regenerates the file without losing the other's figures. UX_BENCH_RESULTS_DIR sends a trial
 * run's results elsewhere, leaving the published ones alone.
 */
export function resultsDir(): string {
  return process.env['UX_BENCH_RESULTS_DIR'] ?? join(packageRoot(), 'bench', 'results');
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpuModel: cpuList[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: /v=(\S+)/.exec(run('redis-server', ['--version']))?.[1] ?? 'unknown',
    postgres: run('psql', ['--version']).replace(/^psql \(PostgreSQL\) /, ''),
    kernel: run('uname', ['-r']),
  };
}

export function gitCommit(): string {
  const head = run('git', ['-C', packageRoot(), 'rev-parse', '--short=12', 'HEAD']);
  // The results this run writes are tracked files too: a run's own earlier benchmarks must not mark the commit changed.
  const dirty = run('git', ['-C', packageRoot(), 'status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results', ':!bench/RESULTS.md']);
  return dirty === '' || dirty === 'unknown' ? head : `${head} (with uncommitted changes)`;
}

/** A figure compared with its baseline; the ratio is value / baseline. */
export function figure(f: Omit<Figure, 'ratio'>): Figure {
  const ratio = f.baseline !== undefined && f.baseline.value !== 0 ? f.value / f.baseline.value : undefined;
  return ratio === undefined ? f : { ...f, ratio };
}

export function spreadOf(values: readonly number[], over: string): Spread | undefined {
  if (values.length < 2) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]!, over };
}

/** Collects one benchmark's figures and writes them when the benchmark ends. */
export class ResultWriter {
  readonly figures: Figure[] = [];
  readonly targets: TargetCheck[] = [];
  readonly notes: string[] = [];
  readonly sizes: Record<string, number | string> = {};
  private readonly started = new Date();

  constructor(
    readonly name: string,
    readonly title: string,
  ) {}

  add(f: Omit<Figure, 'ratio'>): Figure {
    const made = figure(f);
    this.figures.push(made);
    return made;
  }

  target(check: TargetCheck): void {
    this.targets.push(check);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Writes <resultsDir()>/<name>.json and returns its path. */
  write(): string {
    const finished = new Date();
    const result: BenchResult = {
      name: this.name,
      title: this.title,
      startedAt: this.started.toISOString(),
      finishedAt: finished.toISOString(),
      durationSeconds: Math.round((finished.getTime() - this.started.getTime()) / 100) / 10,
      commit: gitCommit(),
      command: benchCommand(),
      scale: benchScale(),
      env: benchEnv(),
      sizes: this.sizes,
      machine: machineInfo(),
      figures: this.figures,
      targets: this.targets,
      notes: this.notes,
    };
    mkdirSync(resultsDir(), { recursive: true });
    const path = join(resultsDir(), `${this.name}.json`);
    writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
    return path;
  }

  /** The figures as a plain-text table, for the tap output. */
  table(): string {
    const rows = this.figures.map((f) => [
      f.label,
      `${fmt(f.value)} ${f.unit}`,
      f.spread === undefined ? '' : `${fmt(f.spread.min)}..${fmt(f.spread.max)} (${f.spread.over})`,
      f.baseline === undefined ? '' : `${fmt(f.baseline.value)} (${f.baseline.label})`,
      f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}x`,
    ]);
    const head = ['figure', 'value', 'spread', 'baseline', 'ratio'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
    const out = [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)];
    for (const target of this.targets) out.push(`target ${target.met === null ? 'NOT MEASURED' : target.met ? 'MET' : 'MISSED'}: ${target.text} (${target.measured})`);
    return out.join('\n');
  }
}

export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}
