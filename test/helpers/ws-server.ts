// A real WebSocket server on 127.0.0.1, port 0, for unit tests of the code that owns server-side
// sockets (the gateway, the dispatcher, the forwarder): real frames and real pauses, no fake socket.

import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { connectRaw, type RawStudent } from './raw-student.js';
import type { TeardownHost } from './redis-server.js';

export interface TestWsServer {
  url: string;
  /** Opens a client and returns it with the server's side of the same connection. */
  pair(): Promise<{ client: RawStudent; server: WebSocket }>;
}

/** `onConnection` runs for every accepted socket before `pair` resolves; closed at teardown. */
export async function startWsServer(t: TeardownHost, onConnection: (ws: WebSocket, remoteAddress: string) => void = () => undefined): Promise<TestWsServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const accepted: WebSocket[] = [];
  const waiting: Array<(ws: WebSocket) => void> = [];
  wss.on('connection', (ws, request) => {
    onConnection(ws, request.socket.remoteAddress ?? '');
    const taker = waiting.shift();
    if (taker === undefined) accepted.push(ws);
    else taker(ws);
  });
  t.teardown(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  return {
    url,
    async pair() {
      const server = new Promise<WebSocket>((resolve) => {
        const ready = accepted.shift();
        if (ready === undefined) waiting.push(resolve);
        else resolve(ready);
      });
      const client = await connectRaw(url);
      t.teardown(() => client.ws.terminate());
      return { client, server: await server };
    },
  };
}
