// The exam client of docs/PROTOCOL.md section 7 for Node (`untradex/client` under Node): the same
// client as the browser's, over `ws`, its outbox in memory (lost with the process).

import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { ExamClientBase, type ClientEnvironment, type ExamClientOptions } from './exam-client.js';
import { MemoryDevice, MemoryStore } from './storage/memory-store.js';

export { EXAM_CLIENT_DEFAULTS, type ClientStatus, type ExamClientOptions, type PendingEvent, type Settled, type WelcomeInfo } from './exam-client.js';
export { MemoryDevice } from './storage/memory-store.js';

export interface NodeExamClientOptions extends ExamClientOptions {
  /** Where kept events live; clients given the same device find each other's (a test's "reload"). Default: a new one. */
  device?: MemoryDevice;
  /** Local address to bind sockets to. */
  localAddress?: string;
}

export class ExamClient extends ExamClientBase {
  constructor(options: NodeExamClientOptions) {
    super(options, nodeEnvironment(options.device ?? new MemoryDevice(), options.localAddress));
  }
}

function nodeEnvironment(device: MemoryDevice, localAddress: string | undefined): ClientEnvironment {
  return {
    openSocket(url, handlers) {
      const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress === undefined ? {} : { localAddress }) });
      ws.on('open', () => handlers.open());
      ws.on('message', (data, isBinary) => handlers.message(isBinary ? null : String(data)));
      ws.on('error', () => undefined); // always followed by 'close', which decides
      ws.on('close', (code, reason) => handlers.close(code, reason.toString('utf8')));
      return {
        send: (text) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(text);
        },
        close: (code, reason) => (ws.readyState === WebSocket.CONNECTING ? ws.terminate() : ws.close(code, reason)),
      };
    },
    openStore: (name) => new MemoryStore(name, device),
    fallbackStore: (name) => new MemoryStore(name, device),
    now: () => performance.now(),
  };
}
