// Reads the JSON log lines (pino) that an Untradex process printed, so tests can assert on levels,
// messages and codes instead of grepping text.

export interface LogLine {
  level?: number;
  msg?: string;
  code?: string;
  actor?: string;
  child?: string;
  [field: string]: unknown;
}

/** pino's numeric levels: 50 is error, 60 fatal. */
export const LEVEL_ERROR = 50;

/** A test that reads fields of its own names the type of its lines (T); the parse does not check them. */
export function logLines<T extends LogLine = LogLine>(output: string): T[] {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as T];
    } catch {
      return [];
    }
  });
}

/** Lines at error level or above, as text for a test's diagnostic. */
export function errorLines(output: string): string[] {
  return output.split('\n').filter((line) => {
    const parsed = logLines(line)[0];
    return parsed !== undefined && (parsed.level ?? 0) >= LEVEL_ERROR;
  });
}
