// The browser client (docs/PROTOCOL.md section 7), bundled into /client/untradex.js: the exam client
// over the browser's WebSocket, with its outbox in IndexedDB (or in memory where there is none).

import { ExamClientBase, type ClientEnvironment, type ClientSocket, type ExamClientOptions } from '../exam-client.js';
import { IndexedDbStore } from '../storage/indexeddb-store.js';
import { MemoryStore } from '../storage/memory-store.js';

export { EXAM_CLIENT_DEFAULTS, type ClientStatus, type ExamClientOptions, type PendingEvent, type Settled, type WelcomeInfo } from '../exam-client.js';
export { readTokenClaims } from '../token-claims.js';

export interface BrowserExamClientOptions extends Omit<ExamClientOptions, 'url'> {
  /** Default: `/ws` on the page's own host, `wss://` when the page came over https. */
  url?: string;
  /**
   * `indexeddb` (the default where the browser has it): kept events survive a reload, a crash and
   * a restart of the browser. `memory`: they are lost with the page; only for pages that cannot
   * use IndexedDB. When IndexedDB fails to open, the client falls back to memory and `storage` says so.
   */
  storage?: 'indexeddb' | 'memory';
}

export class ExamClient extends ExamClientBase {
  constructor(options: BrowserExamClientOptions) {
    super({ ...options, url: options.url ?? sameOriginUrl() }, browserEnvironment(options.storage ?? 'indexeddb'));
    // The browser knows when the network is back: skip what is left of a reconnect backoff.
    globalThis.addEventListener?.('online', () => this.reconnectNow());
  }
}

/** `ws(s)://<this page's host>/ws`. */
export function sameOriginUrl(): string {
  const { protocol, host } = globalThis.location;
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}/ws`;
}

function browserEnvironment(storage: 'indexeddb' | 'memory'): ClientEnvironment {
  return {
    openSocket(url, handlers): ClientSocket {
      const ws = new WebSocket(url);
      ws.onopen = () => handlers.open();
      ws.onmessage = (event: MessageEvent) => handlers.message(typeof event.data === 'string' ? event.data : null);
      ws.onclose = (event: CloseEvent) => handlers.close(event.code, event.reason);
      return {
        send: (text) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(text);
        },
        close: (code, reason) => ws.close(code, reason),
      };
    },
    openStore(name) {
      if (storage === 'memory' || typeof indexedDB === 'undefined') return new MemoryStore(name);
      return new IndexedDbStore(name);
    },
    fallbackStore: (name) => new MemoryStore(name),
    now: () => performance.now(),
  };
}
