// The control API (docs/PROTOCOL.md section 4): health, readiness, metrics, status, tokens, the exam
// list, exam state, the roster, finalize, purge, and the console's files at `/` (section 8).
// Binds to 127.0.0.1 by default; /api/* needs the admin token.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { mintStudentToken } from '../auth/student-token.js';
import { isValidId } from '../events/answer-event.js';
import { parseRosterCursor, type RosterPosition } from '../redis/exam-roster.js';
import { ConsoleFiles } from './console-files.js';
import type { ControlBackend, ExamReport } from './control-backend.js';
import { bearerMatches, ControlHttpError, readJsonBody, sendError, sendJson } from './http-json.js';

/** What GET /metrics serves: the metrics pipeline's Prometheus text. */
export interface MetricsEndpoint {
  prometheusText(): Promise<string>;
}

export interface ControlServerOptions {
  host: string;
  port: number;
  adminToken: string;
  metricsToken: string | null;
  authSecret: string;
  maxBodyBytes: number;
  /** redis.buckets: roster cursors name a bucket. */
  buckets: number;
}

const MAX_TOKEN_TTL_SECONDS = 7 * 24 * 3600;
const DEFAULT_TOKEN_TTL_SECONDS = 14_400;
const MAX_STUDENTS_PER_CALL = 100_000;
const DEFAULT_ROSTER_LIMIT = 500;
const MAX_ROSTER_LIMIT = 5_000;

export class ControlServer {
  private readonly server: Server;
  private readonly consoleFiles = new ConsoleFiles();

  constructor(
    private readonly options: ControlServerOptions,
    private readonly backend: ControlBackend,
    private readonly log: Logger,
    private readonly metrics: MetricsEndpoint,
  ) {
    if (this.consoleFiles.missing.length > 0) log.warn({ missing: this.consoleFiles.missing }, 'the operator console is not built (GET / answers 503): run npm run build');
    this.server = createServer((request, response) => {
      this.route(request, response).catch((error: unknown) => this.fail(response, error));
    });
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 10_000;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.options.host, port: this.options.port }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://control');
    const method = request.method ?? 'GET';
    const path = url.pathname;

    if (path === '/healthz') return sendJson(response, 200, { ok: true });
    if (path === '/readyz') {
      const readiness = await this.backend.readiness();
      return sendJson(response, readiness.ready ? 200 : 503, { ok: readiness.ready, reasons: readiness.reasons, ...(readiness.sink === undefined ? {} : { sink: readiness.sink }) });
    }
    if (path === '/metrics') {
      if (this.options.metricsToken !== null && !bearerMatches(request, this.options.metricsToken)) {
        throw new ControlHttpError(401, 'unauthorized', 'GET /metrics needs Authorization: Bearer <control.metricsToken>');
      }
      const text = await this.metrics.prometheusText();
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      response.end(text);
      return;
    }
    // No auth to load the console: it holds no data; every figure it shows comes from /api/*.
    if (this.consoleFiles.serves(path)) return this.consoleFiles.handle(method, path, request, response);
    if (!path.startsWith('/api/')) throw new ControlHttpError(404, 'not_found', `no route ${path}`);
    if (!bearerMatches(request, this.options.adminToken)) {
      throw new ControlHttpError(401, 'unauthorized', 'send Authorization: Bearer <control.adminToken> (printed at first start, kept in <dataDir>/secrets.json)');
    }
    return this.routeApi(method, path, url, request, response);
  }

  private async routeApi(method: string, path: string, url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (path === '/api/status') {
      requireMethod(method, 'GET');
      return sendJson(response, 200, await this.backend.status());
    }
    if (path === '/api/finalizarexamen') {
      return sendJson(response, 202, await this.finalize(url.searchParams.get('exam'), request));
    }
    if (path === '/api/exams') {
      requireMethod(method, 'GET');
      return sendJson(response, 200, { exams: await this.backend.exams() });
    }
    const match = /^\/api\/exams\/([^/]+)(?:\/(tokens|finalize|purge|students))?$/.exec(path);
    if (match === null) throw new ControlHttpError(404, 'not_found', `no route ${path}`);
    const exam = decodePathSegment(match[1]!);
    if (!isValidId(exam)) throw new ControlHttpError(400, 'bad_request', 'exam ids are 1 to 64 characters of A-Z a-z 0-9 _ . -');
    switch (match[2]) {
      case undefined:
        requireMethod(method, 'GET');
        return sendJson(response, 200, await this.backend.exam(exam));
      case 'tokens': {
        requireMethod(method, 'POST');
        const reply = await this.audited(request, 'tokens', exam, async () => {
          const minted = this.mintTokens(exam, await readJsonBody(request, this.options.maxBodyBytes));
          return { reply: { tokens: minted.tokens }, logged: { students: minted.count, ttlSeconds: minted.ttlSeconds } };
        });
        return sendJson(response, 200, reply);
      }
      case 'finalize':
        requireMethod(method, 'POST');
        return sendJson(response, 202, await this.finalize(exam, request));
      case 'purge': {
        requireMethod(method, 'POST');
        const reply = await this.audited(request, 'purge', exam, async () => {
          const purged = await this.backend.purge(exam);
          return { reply: purged, logged: { deletedKeys: purged.deletedKeys } };
        });
        return sendJson(response, 200, reply);
      }
      case 'students': {
        requireMethod(method, 'GET');
        const { limit, from } = this.rosterQuery(url.searchParams);
        return sendJson(response, 200, await this.backend.roster(exam, limit, from));
      }
      default:
        throw new ControlHttpError(404, 'not_found', `no route ${path}`);
    }
  }

  /** `?limit=` (1 to 5000, default 500) and `?cursor=` (from the previous page; absent for the first). */
  private rosterQuery(params: URLSearchParams): { limit: number; from: RosterPosition | null } {
    const limitText = params.get('limit');
    const limit = limitText === null ? DEFAULT_ROSTER_LIMIT : Number(limitText);
    if (!/^\d{1,5}$/.test(limitText ?? '1') || !Number.isInteger(limit) || limit < 1 || limit > MAX_ROSTER_LIMIT) {
      throw new ControlHttpError(400, 'bad_request', `"limit" must be an integer from 1 to ${MAX_ROSTER_LIMIT}`);
    }
    const cursor = params.get('cursor');
    if (cursor === null || cursor === '') return { limit, from: null };
    const from = parseRosterCursor(cursor, this.options.buckets);
    if (from === null) throw new ControlHttpError(400, 'bad_request', '"cursor" is not one this server gave out; pass the cursor of the previous page as it came, or none for the first page');
    return { limit, from };
  }

  private async finalize(exam: string | null, request: IncomingMessage): Promise<{ exam: string; state: string; waiting: ExamReport['waiting'] }> {
    if (exam === null || !isValidId(exam)) throw new ControlHttpError(400, 'bad_request', 'give a valid exam id (?exam=E1 on the alias)');
    return this.audited(request, 'finalize', exam, async () => {
      const report = await this.backend.finalize(exam);
      // `waiting` (an addition to the contract's {exam, state}) says what a finalize during a Redis
      // shard outage waits for; it completes by itself once the shard is back.
      return { reply: { exam: report.exam, state: report.state, waiting: report.waiting }, logged: { state: report.state, ...(report.waiting === null ? {} : { waitingFor: report.waiting.shards.join(',') }) } };
    });
  }

  /**
   * Runs an admin action and logs it once with its outcome (issue 12 item 5): who asked (the
   * address), what, for which exam, and the result's figures. Never a token or secret: `logged`
   * holds counts and states only, and errors are logged by code and message.
   */
  private async audited<T>(request: IncomingMessage, action: 'tokens' | 'finalize' | 'purge', exam: string, run: () => Promise<{ reply: T; logged: Record<string, string | number> }>): Promise<T> {
    const from = request.socket.remoteAddress ?? null;
    try {
      const { reply, logged } = await run();
      this.log.info({ admin: action, exam, from, outcome: 'done', ...logged }, `admin ${action} of exam ${exam}: done`);
      return reply;
    } catch (error) {
      const code = error instanceof ControlHttpError ? error.error : ((error as { code?: unknown } | null)?.code ?? 'internal');
      // The caller's mistake (a bad body, an exam not exported yet) is refused; anything else failed.
      const outcome = (error instanceof ControlHttpError && error.status < 500) || code === 'UX_ERR_CONTROL' ? 'refused' : 'failed';
      this.log.warn({ admin: action, exam, from, outcome, code, reason: (error as Error).message }, `admin ${action} of exam ${exam}: ${outcome}`);
      throw error;
    }
  }

  private mintTokens(exam: string, body: unknown): { tokens: Record<string, string>; count: number; ttlSeconds: number } {
    const { students, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS } = (body ?? {}) as { students?: unknown; ttlSeconds?: unknown };
    if (!Array.isArray(students) || students.length === 0 || students.length > MAX_STUDENTS_PER_CALL) {
      throw new ControlHttpError(400, 'bad_request', `"students" must be a list of 1 to ${MAX_STUDENTS_PER_CALL} student ids`);
    }
    const bad = students.find((student) => !isValidId(student));
    if (bad !== undefined) throw new ControlHttpError(400, 'bad_request', `student id ${JSON.stringify(bad)} breaks the id rules (1-64 of A-Z a-z 0-9 _ . -)`);
    if (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
      throw new ControlHttpError(400, 'bad_request', `"ttlSeconds" must be an integer from 1 to ${MAX_TOKEN_TTL_SECONDS}`);
    }
    const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
    const tokens: Record<string, string> = {};
    for (const student of students as string[]) tokens[student] = mintStudentToken(this.options.authSecret, { exam, student, expiresAt });
    return { tokens, count: Object.keys(tokens).length, ttlSeconds };
  }

  private fail(response: ServerResponse, error: unknown): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof ControlHttpError) return sendError(response, error);
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'UX_ERR_CONTROL') return sendError(response, new ControlHttpError(409, 'conflict', (error as Error).message));
    if (code === 'UX_ERR_REDIS_UNAVAILABLE' || code === 'UX_ERR_SHUTDOWN') {
      return sendError(response, new ControlHttpError(503, 'unavailable', (error as Error).message));
    }
    this.log.error({ err: error }, 'control request failed');
    sendError(response, new ControlHttpError(500, 'internal', 'internal error; see the server log'));
  }
}

/** A malformed percent-encoding (`%E0%A4%A`, a lone `%`) is the client's mistake: 400, not 500. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ControlHttpError(400, 'bad_request', 'the exam id in the path is not valid percent-encoding');
  }
}

function requireMethod(actual: string, expected: string): void {
  if (actual !== expected) throw new ControlHttpError(405, 'method_not_allowed', `use ${expected}`);
}
