// One WebSocket attempt of the Node student client: opens it with the protocol's options and
// hands decoded server frames to the client. The hello and the reconnect policy live in the core.

import WebSocket from 'ws';
import { decodeServerFrame, type ServerFrame } from '../protocol/server-frame.js';

export interface StudentSocketOptions {
  url: string;
  token: string;
  handshakeTimeoutMs: number;
  localAddress: string | undefined;
}

export interface StudentSocketHandlers {
  /** The socket is open: the core sends the hello. */
  open(): void;
  frame(frame: ServerFrame): void;
  /** A binary frame or text that is not a frame of this protocol version. */
  badFrame(): void;
  /** ws always follows an 'error' with a 'close'; the close decides what happens next. */
  error(error: Error): void;
  close(code: number, reason: string): void;
}

export function openStudentSocket(options: StudentSocketOptions, handlers: StudentSocketHandlers): WebSocket {
  const ws = new WebSocket(options.url, {
    perMessageDeflate: false,
    handshakeTimeout: options.handshakeTimeoutMs,
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
  });
  ws.on('open', () => handlers.open());
  ws.on('message', (data, isBinary) => {
    const frame = isBinary ? null : decodeServerFrame(rawToString(data));
    if (frame === null) handlers.badFrame();
    else handlers.frame(frame);
  });
  ws.on('error', (error) => handlers.error(error));
  ws.on('close', (code, reason) => handlers.close(code, reason.toString('utf8')));
  return ws;
}

function rawToString(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
