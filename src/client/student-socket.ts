// One WebSocket attempt of the student client: opens it with the protocol's options, sends the
// hello, and hands decoded server frames to the client. Reconnect policy lives in the client.

import WebSocket from 'ws';
import { encodeHello } from '../protocol/client-frame.js';
import { decodeServerFrame, type ServerFrame } from '../protocol/server-frame.js';

export interface StudentSocketOptions {
  url: string;
  token: string;
  handshakeTimeoutMs: number;
  localAddress: string | undefined;
}

export interface StudentSocketHandlers {
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
  ws.on('open', () => ws.send(encodeHello(options.token)));
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
