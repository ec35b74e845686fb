// The plain-HTTP side of the gateway port (docs/PROTOCOL.md section 7): the browser client at
// /client/untradex.js and the example exam page at /exam/, same origin as /ws so pages need no CORS.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/** From dist/actors/connection/ to the package root. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The page runs only its own files: no inline script or style, no other origin (no CDN), sockets
 * only to this gateway ('self' covers ws: and wss: on the same host), and no framing by other sites.
 */
export const EXAM_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface ServedFile {
  /** Relative to the package root. */
  source: string;
  type: string;
  page: boolean;
  body: Buffer | null;
  etag: string;
}

const FILES: Record<string, Omit<ServedFile, 'body' | 'etag'>> = {
  '/client/untradex.js': { source: 'dist/client/untradex.js', type: 'text/javascript; charset=utf-8', page: false },
  '/exam/': { source: 'pages/exam/index.html', type: 'text/html; charset=utf-8', page: true },
  '/exam/index.html': { source: 'pages/exam/index.html', type: 'text/html; charset=utf-8', page: true },
  '/exam/exam.css': { source: 'pages/exam/exam.css', type: 'text/css; charset=utf-8', page: false },
  '/exam/exam.js': { source: 'dist/pages/exam/exam.js', type: 'text/javascript; charset=utf-8', page: false },
};

export class StudentPages {
  private readonly files = new Map<string, ServedFile>();
  /** Files that could not be read at start (a checkout that was not built). */
  readonly missing: string[] = [];

  /** Reads every file once: they are small, and a gateway serves them to every student at the start spike. */
  constructor(root: string = PACKAGE_ROOT) {
    for (const [path, file] of Object.entries(FILES)) {
      let body: Buffer | null = null;
      try {
        body = readFileSync(`${root}/${file.source}`);
      } catch {
        this.missing.push(file.source);
      }
      const etag = body === null ? '' : `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      this.files.set(path, { ...file, body, etag });
    }
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split(/[?#]/)[0]!;
    response.setHeader('x-content-type-options', 'nosniff');
    response.setHeader('referrer-policy', 'no-referrer');
    if (path === '/ws') return text(response, 426, 'Untradex students connect with a WebSocket upgrade on /ws\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return text(response, 405, 'Only GET and HEAD are served here\n');
    }
    if (path === '/exam') {
      response.writeHead(301, { location: '/exam/' }).end();
      return;
    }
    const file = this.files.get(path);
    if (file === undefined) return text(response, 404, 'Not found. Students open /exam/#token=... (or the exam page of their school); the client is /client/untradex.js\n');
    if (file.body === null) return text(response, 503, `${file.source} is missing: run npm run build on the server\n`);
    const headers: Record<string, string> = {
      'content-type': file.type,
      etag: file.etag,
      // Revalidated on every load, so a new version reaches students at once; a 304 costs nothing.
      'cache-control': 'no-cache',
    };
    if (file.page) headers['content-security-policy'] = EXAM_PAGE_CSP;
    if (request.headers['if-none-match'] === file.etag) {
      response.writeHead(304, headers).end();
      return;
    }
    headers['content-length'] = String(file.body.length);
    response.writeHead(200, headers);
    response.end(request.method === 'HEAD' ? undefined : file.body);
  }
}

function text(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }).end(body);
}
