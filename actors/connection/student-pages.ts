// The plain-HTTP side of the gateway port (docs/PROTOCOL.md section 7): the browser client at
// /client/untradex.js and the example exam page at /exam/, same origin as /ws so pages need no CORS.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTENT_TYPE, PACKAGE_ROOT, pageCsp, plainText, setSafetyHeaders, StaticFiles, type StaticFile } from '../../src/http/static-files.js';

/**
 * The page runs only its own files: no inline script or style, no other origin (no CDN), sockets
 * only to this gateway ('self' covers ws: and wss: on the same host), and no framing by other sites.
 */
export const EXAM_PAGE_CSP = pageCsp("'none'");

const FILES: Record<string, StaticFile> = {
  '/client/untradex.js': { source: 'dist/client/untradex.js', type: CONTENT_TYPE.js, page: false },
  '/exam/': { source: 'pages/exam/index.html', type: CONTENT_TYPE.html, page: true },
  '/exam/index.html': { source: 'pages/exam/index.html', type: CONTENT_TYPE.html, page: true },
  '/exam/base.css': { source: 'pages/shared/base.css', type: CONTENT_TYPE.css, page: false },
  '/exam/exam.css': { source: 'pages/exam/exam.css', type: CONTENT_TYPE.css, page: false },
  '/exam/exam.js': { source: 'dist/pages/exam/exam.js', type: CONTENT_TYPE.js, page: false },
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
