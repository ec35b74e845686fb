// The plain-HTTP side of the gateway port (docs/PROTOCOL.md section 7): the browser client at
// /client/untradex.js and the example exam page at /exam/, same origin as /ws so pages need no CORS.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { PACKAGE_ROOT, pageCsp, plainText, setSafetyHeaders, StaticFiles, type StaticFileTable } from '../../src/http/static-files.js';

/**
 * The page runs only its own files: no inline script or style, no other origin (no CDN), sockets
 * only to this gateway ('self' covers ws: and wss: on the same host), and no framing by other sites.
 */
export const EXAM_PAGE_CSP = pageCsp("'none'");

const FILES: StaticFileTable = {
  '/client/untradex.js': 'dist/client/untradex.js',
  '/exam/': 'pages/exam/index.html',
  '/exam/index.html': 'pages/exam/index.html',
  '/exam/base.css': 'pages/shared/base.css',
  '/exam/exam.css': 'pages/exam/exam.css',
  '/exam/exam.js': 'dist/pages/exam/exam.js',
};

const NOT_FOUND = 'Not found. Students open /exam/#token=... (or the exam page of their school); the client is /client/untradex.js\n';

/** Read once: a gateway serves them to every student at the start spike. */
export class StudentPages extends StaticFiles {
  constructor(root: string = PACKAGE_ROOT) {
    super(FILES, root, EXAM_PAGE_CSP);
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split(/[?#]/)[0]!;
    setSafetyHeaders(response);
    if (path === '/ws') return plainText(response, 426, 'Untradex students connect with a WebSocket upgrade on /ws\n');
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return plainText(response, 405, 'Only GET and HEAD are served here\n');
    }
    if (path === '/exam') {
      response.writeHead(301, { location: '/exam/' }).end();
      return;
    }
    this.serve(method, path, request, response, NOT_FOUND);
  }
}
