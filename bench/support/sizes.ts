// Benchmark sizes from the environment: one documented variable per knob, with a default that
// keeps the whole `npm run bench` near 15 minutes on a 2-core box, and UX_BENCH_SCALE=small for smoke runs.

/** `small` shrinks every default for a smoke run; `default` is the published run. */
export type BenchScale = 'small' | 'default';

export function benchScale(): BenchScale {
  const raw = process.env['UX_BENCH_SCALE'] ?? 'default';
  if (raw !== 'small' && raw !== 'default') throw new Error(`UX_BENCH_SCALE must be "small" or "default", got "${raw}"`);
  return raw;
}

/** An integer from `name`, else the default of the current scale. */
export function envInt(name: string, defaults: { small: number; default: number }): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return defaults[benchScale()];
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

/** A comma-separated list of integers from `name`, else the default of the current scale. */
export function envIntList(name: string, defaults: { small: number[]; default: number[] }): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return defaults[benchScale()];
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`${name} must be a comma-separated list of positive integers, got "${raw}"`);
  return values;
}

export function envList(name: string, fallback: string[]): string[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
}

/** Every UX_BENCH_* variable set for this run, recorded beside the figures. */
export function benchEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (key.startsWith('UX_BENCH_') && value !== undefined) out[key] = value;
  return out;
}

/** How many load-generator processes for `students` sockets: each holds at most 9,000 (20,000 open files per process). */
export function loadProcessesFor(students: number): number {
  const forced = process.env['UX_BENCH_LOAD_PROCESSES'];
  if (forced !== undefined && forced !== '') return Math.max(1, Number(forced));
  return Math.max(2, Math.ceil(students / 9000));
}

/** Source addresses 127.0.0.2 .. 127.0.0.(1+n): each has its own ~28,000 ephemeral ports. */
export function localAddresses(): string[] {
  const n = envInt('UX_BENCH_LOCAL_ADDRESSES', { small: 4, default: 8 });
  return Array.from({ length: Math.max(1, Math.min(250, n)) }, (_, i) => `127.0.0.${i + 2}`);
}
