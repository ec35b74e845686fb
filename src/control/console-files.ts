// The operator console's static files on the control port (docs/PROTOCOL.md section 8): the page at `/`
// and its script, styles and chart styles under /console/, all from the package, with a strict CSP.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { PACKAGE_ROOT, pageCsp, plainText, setSafetyHeaders, StaticFiles, type StaticFileTable } from '../http/static-files.js';

/**
 * Only the console's own files run: no inline script or style attribute, no other origin (the exam
 * network may be offline, and a CDN would see the operator), calls only to this port, no framing
 * (clickjacking the Finalize button), no forms posted anywhere (the page posts with fetch).
 */
export const CONSOLE_CSP = pageCsp("'self'", "object-src 'none'");

const FILES: StaticFileTable = {
  '/': 'pages/console/index.html',
  '/index.html': 'pages/console/index.html',
  '/console/base.css': 'pages/shared/base.css',
  '/console/console.css': 'pages/console/console.css',
  '/console/console.js': 'dist/pages/console/console.js',
  '/console/uplot.css': 'dist/pages/console/uplot.css',
};

export class ConsoleFiles extends StaticFiles {
  constructor(root: string = PACKAGE_ROOT) {
    super(FILES, root, CONSOLE_CSP);
  }

  /** True for the paths this serves; everything else is the API's. */
  serves(path: string): boolean {
    return this.has(path);
  }

  handle(method: string, path: string, request: IncomingMessage, response: ServerResponse): void {
    setSafetyHeaders(response);
    if (!this.has(path)) return plainText(response, 404, `Not found: ${path}\n`);
    if (method !== 'GET' && method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return plainText(response, 405, 'The console is read with GET; its actions are POSTs to /api/*\n');
    }
    this.serve(method, path, request, response, `Not found: ${path}\n`);
  }
}
