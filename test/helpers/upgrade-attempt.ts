// One WebSocket upgrade tried from a chosen source address (127.0.0.x), for the tests of the
// gateway's per-address and total caps: what matters is whether it was upgraded or refused, and how.

import { WebSocket } from 'ws';

export interface UpgradeAttempt {
  ws: WebSocket;
  /** 101 when upgraded, else the HTTP status of the refusal; 0 when the socket failed outright. */
  status: number;
}

/** Opens a WebSocket from `localAddress`; status 101 when upgraded, else the HTTP status. */
export function attemptUpgrade(url: string, localAddress: string): Promise<UpgradeAttempt> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
    // A refused or reset socket may report more errors after the first: none of them may crash the test.
    ws.on('error', () => undefined);
    ws.once('open', () => resolve({ ws, status: 101 }));
    ws.once('unexpected-response', (_request, response) => resolve({ ws, status: response.statusCode ?? 0 }));
    ws.once('error', () => resolve({ ws, status: 0 }));
  });
}
