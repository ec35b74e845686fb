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
  // Where the results go changes no figure.
  for (const [key, value] of Object.entries(process.env)) if (key.startsWith('UX_BENCH_') && key !== 'UX_BENCH_RESULTS_DIR' && value !== undefined) out[key] = value;
  return out;
}

/** How many load-generator processes for `students` sockets: each holds at most 9,000 (20,000 open files per process). */
export function loadProcessesFor(students: number): number {
  const forced = process.env['UX_BENCH_LOAD_PROCESSES'];
  if (forced !== undefined && forced !== '') return Math.max(1, Number(forced));
  return Math.max(2, Math.ceil(students / 9000));
}

/** Students per source address the load generator aims for (see localAddresses). */
const STUDENTS_PER_ADDRESS = 1_000;

/**
 * Source addresses 127.0.0.2, 127.0.0.3, ...: one per 1,000 students, at least 8
 * (UX_BENCH_LOCAL_ADDRESSES overrides). Each address has its own ~28,000 ephemeral ports, but a
 * connect from a given address first binds it with port 0, and the kernel's search for a free port
 * for bind() slows down as an address fills: with 7,500 students per address the load processes
 * spent 70% of the machine in the kernel and connects stalled at 32,000; at 1,000 per address the
 * search stays short.
 */
export function localAddresses(students = 0): string[] {
  const forced = process.env['UX_BENCH_LOCAL_ADDRESSES'];
  const n = forced !== undefined && forced !== '' ? envInt('UX_BENCH_LOCAL_ADDRESSES', { small: 4, default: 8 }) : Math.max(benchScale() === 'small' ? 4 : 8, Math.ceil(students / STUDENTS_PER_ADDRESS));
  // 127.0.0.2-251, 127.0.1.2-251, ...: all loopback on Linux (127.0.0.0/8), none needs configuring.
  return Array.from({ length: Math.max(1, Math.min(60_000, n)) }, (_, i) => `127.0.${Math.floor(i / 250)}.${(i % 250) + 2}`);
}
