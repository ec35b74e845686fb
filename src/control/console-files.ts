// The operator console's static files on the control port (docs/PROTOCOL.md section 8): the page at `/`
// and its script, styles and chart styles under /console/, all from the package, with a strict CSP.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/** From dist/src/control/ to the package root. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Only the console's own files run: no inline script or style attribute, no other origin (the exam
 * network may be offline, and a CDN would see the operator), calls only to this port, no framing
 * (clickjacking the Finalize button), no forms posted anywhere (the page posts with fetch).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface ConsoleFile {
  /** Relative to the package root. */
  source: string;
  type: string;
  /** The HTML page, which carries the CSP. */
  page: boolean;
}

interface LoadedFile extends ConsoleFile {
  body: Buffer | null;
  etag: string;
}

const HTML = 'text/html; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';

const FILES: Record<string, ConsoleFile> = {
  '/': { source: 'pages/console/index.html', type: HTML, page: true },
  '/index.html': { source: 'pages/console/index.html', type: HTML, page: true },
  '/console/console.css': { source: 'pages/console/console.css', type: CSS, page: false },
  '/console/console.js': { source: 'dist/pages/console/console.js', type: JS, page: false },
  '/console/uplot.css': { source: 'dist/pages/console/uplot.css', type: CSS, page: false },
};

export class ConsoleFiles {
  private readonly files = new Map<string, LoadedFile>();
  /** Files that could not be read at start (a checkout that was not built). */
  readonly missing: string[] = [];

  /** Reads every file once: they are small and never change while the server runs. */
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

  /** True for the paths this serves; everything else is the API's. */
  serves(path: string): boolean {
    return this.files.has(path);
  }

  handle(method: string, path: string, request: IncomingMessage, response: ServerResponse): void {
    const file = this.files.get(path);
    response.setHeader('x-content-type-options', 'nosniff');
    response.setHeader('referrer-policy', 'no-referrer');
    if (file === undefined) return text(response, 404, `Not found: ${path}\n`);
    if (method !== 'GET' && method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return text(response, 405, 'The console is read with GET; its actions are POSTs to /api/*\n');
    }
    if (file.body === null) return text(response, 503, `${file.source} is missing: run npm run build on the server\n`);
    const headers: Record<string, string> = {
      'content-type': file.type,
      etag: file.etag,
      // Revalidated on every load, so an upgraded server's console reaches the operator at once.
      'cache-control': 'no-cache',
    };
    if (file.page) headers['content-security-policy'] = CONSOLE_CSP;
    if (request.headers['if-none-match'] === file.etag) {
      response.writeHead(304, headers).end();
      return;
    }
    headers['content-length'] = String(file.body.length);
    response.writeHead(200, headers);
    response.end(method === 'HEAD' ? undefined : file.body);
  }
}

function text(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }).end(body);
}
