// Small static files served from the package (the console on the control port, the exam page and
// browser client on the gateway port): read once at start, ETag-revalidated, a CSP on the pages.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/** From dist/src/http/ to the package root. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** By the source's extension: the only kinds of file the pages are made of. */
const CONTENT_TYPE = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
} as const;

/**
 * A page's Content-Security-Policy: `defaultSrc` for what is not named, then what every page of ours
 * allows, and no more: scripts, styles, images and sockets of this origin only ('self' covers ws: and
 * wss: on the same host; no inline script or style, no CDN), no <base>, no form posts, no framing.
 */
export function pageCsp(defaultSrc: "'none'" | "'self'", ...more: string[]): string {
  return [
    `default-src ${defaultSrc}`,
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    ...more,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** URL path to the file served there, relative to the package root. */
export type StaticFileTable = Readonly<Record<string, string>>;

interface LoadedFile {
  source: string;
  type: string;
  /** An HTML page, which carries the CSP. */
  page: boolean;
  body: Buffer | null;
  etag: string;
}

function contentType(source: string): string {
  const extension = source.slice(source.lastIndexOf('.') + 1);
  if (extension === 'html' || extension === 'css' || extension === 'js') return CONTENT_TYPE[extension];
  throw new Error(`static file ${source}: only .html, .css and .js files are served`);
}

export class StaticFiles {
  private readonly files = new Map<string, LoadedFile>();
  /** Files that could not be read at start (a checkout that was not built). */
  readonly missing: string[] = [];

  /** Reads every file once: they are small and never change while the server runs. */
  constructor(files: StaticFileTable, root: string, private readonly csp: string) {
    for (const [path, source] of Object.entries(files)) {
      let body: Buffer | null = null;
      try {
        body = readFileSync(`${root}/${source}`);
      } catch {
        this.missing.push(source);
      }
      const etag = body === null ? '' : `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      const type = contentType(source);
      this.files.set(path, { source, type, page: type === CONTENT_TYPE.html, body, etag });
    }
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** Answers a GET or HEAD for `path`; `notFound` is the 404's text for a path this does not serve. */
  serve(method: 'GET' | 'HEAD', path: string, request: IncomingMessage, response: ServerResponse, notFound: string): void {
    const file = this.files.get(path);
    if (file === undefined) return plainText(response, 404, notFound);
    if (file.body === null) return plainText(response, 503, `${file.source} is missing: run npm run build on the server\n`);
    const headers: Record<string, string> = {
      'content-type': file.type,
      etag: file.etag,
      // Revalidated on every load, so an upgraded server's pages reach their readers at once; a 304 costs nothing.
      'cache-control': 'no-cache',
    };
    if (file.page) headers['content-security-policy'] = this.csp;
    if (request.headers['if-none-match'] === file.etag) {
      response.writeHead(304, headers).end();
      return;
    }
    headers['content-length'] = String(file.body.length);
    response.writeHead(200, headers);
    response.end(method === 'HEAD' ? undefined : file.body);
  }
}

/** The headers every answer of these ports carries, files and errors alike. */
export function setSafetyHeaders(response: ServerResponse): void {
  response.setHeader('x-content-type-options', 'nosniff');
  response.setHeader('referrer-policy', 'no-referrer');
}

export function plainText(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }).end(body);
}
