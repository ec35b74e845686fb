// The console's calls to the control API: the admin token as a bearer header (never a cookie), and
// every failure turned into words an operator can act on.

import type { ExamReport, ExamSummary, RosterPage, SystemStatus } from './api-types.js';

/** What went wrong, in the operator's terms; `refused` means the token is wrong (sign in again). */
export type ControlFailure = 'refused' | 'unreachable' | 'conflict' | 'unavailable' | 'bad_request' | 'server';

export class ApiCallError extends Error {
  constructor(
    readonly failure: ControlFailure,
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export const REFUSED_TOKEN_TEXT = 'That token was refused. Use the admin token Untradex printed at its first start (kept as "adminToken" in <dataDir>/secrets.json, or set by UNTRADEX_ADMIN_TOKEN).';

/** A reply slower than this is given up as unreachable: the next refresh tries again. */
const REQUEST_TIMEOUT_MS = 15_000;

export class ControlApi {
  constructor(private readonly token: string) {}

  status(): Promise<SystemStatus> {
    return this.call<SystemStatus>('GET', '/api/status');
  }

  async exams(): Promise<ExamSummary[]> {
    return (await this.call<{ exams: ExamSummary[] }>('GET', '/api/exams')).exams;
  }

  exam(exam: string): Promise<ExamReport> {
    return this.call<ExamReport>('GET', `/api/exams/${encodeURIComponent(exam)}`);
  }

  roster(exam: string, limit: number, cursor: string | null): Promise<RosterPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor !== null) query.set('cursor', cursor);
    return this.call<RosterPage>('GET', `/api/exams/${encodeURIComponent(exam)}/students?${query.toString()}`);
  }

  finalize(exam: string): Promise<{ exam: string; state: string }> {
    return this.call('POST', `/api/exams/${encodeURIComponent(exam)}/finalize`);
  }

  purge(exam: string): Promise<{ deletedKeys?: number }> {
    return this.call('POST', `/api/exams/${encodeURIComponent(exam)}/purge`);
  }

  private async call<T>(method: string, path: string): Promise<T> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: { authorization: `Bearer ${this.token}` },
        cache: 'no-store',
        credentials: 'omit',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const why = error instanceof DOMException && error.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : 'the connection failed';
      throw new ApiCallError('unreachable', `Cannot reach Untradex at ${location.host} (${why}). Is it running? The console keeps trying.`, null);
    }
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      // A proxy's HTML error page, say: reported below by status.
    }
    if (response.ok) return body as T;
    const message = (body as { message?: unknown } | null)?.message;
    const said = typeof message === 'string' ? message : `HTTP ${response.status}`;
    if (response.status === 401) throw new ApiCallError('refused', REFUSED_TOKEN_TEXT, 401);
    if (response.status === 409) throw new ApiCallError('conflict', said, 409);
    if (response.status === 503) throw new ApiCallError('unavailable', `Untradex cannot do that right now: ${said}`, 503);
    if (response.status >= 400 && response.status < 500) throw new ApiCallError('bad_request', said, response.status);
    throw new ApiCallError('server', `Untradex failed (${said}). The server log says more.`, response.status);
  }
}
