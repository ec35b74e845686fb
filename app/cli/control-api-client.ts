// The command line's client of the control API (docs/PROTOCOL.md section 4): one fetch per call with the
// admin token, and every failure turned into a ControlApiError whose message says what to do.

import { ControlApiError } from '../../src/errors.js';
import type { ControlTarget } from './control-target.js';

/** How long one call may take before the command gives up (a finalize answers at once; the rest is reads). */
const CALL_TIMEOUT_MS = 30_000;

export class ControlApiClient {
  constructor(private readonly target: ControlTarget) {}

  get url(): string {
    return this.target.url;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const where = `${this.target.url}${path}`;
    let response: Response;
    try {
      response = await fetch(where, {
        method,
        headers: { authorization: `Bearer ${this.target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new ControlApiError(
        null,
        null,
        `cannot reach the control API at ${this.target.url} (${why}): is Untradex running there? Start it with \`untradex start\`, ` +
          'or pass the control port\'s address with --url or UNTRADEX_URL',
        { cause: error },
      );
    }
    const text = await response.text();
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch (error) {
        throw new ControlApiError(response.status, null, `${method} ${where} answered ${response.status} with a body that is not JSON: is ${this.target.url} the control port of Untradex?`, { cause: error });
      }
    }
    if (response.ok) return parsed as T;
    const { error: code, message } = (parsed ?? {}) as { error?: unknown; message?: unknown };
    const apiError = typeof code === 'string' ? code : null;
    const detail = typeof message === 'string' ? message : `HTTP ${response.status}`;
    if (response.status === 401) {
      throw new ControlApiError(
        401,
        apiError,
        `the control API at ${this.target.url} refused the admin token (from ${this.target.tokenSource}): pass the token the server ` +
          'printed at its first start with --token or UNTRADEX_ADMIN_TOKEN (the server keeps it in <dataDir>/secrets.json)',
      );
    }
    throw new ControlApiError(response.status, apiError, detail);
  }
}
