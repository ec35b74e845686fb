// A WebSocket client written out by hand on a bare TCP socket: the hostile tests control every
// byte (several frames in one write, dribbled handshakes) and read the server's frames raw.

import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export const Opcode = { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/** One masked client frame, as RFC 6455 section 5.2 lays it out. */
export function clientFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = data.length;
  const header = length < 126 ? Buffer.alloc(2) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (length < 126) header[1] = 0x80 | length;
  else if (length < 65536) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = data[i]! ^ mask[i & 3]!;
  return Buffer.concat([header, mask, masked]);
}

export function upgradeRequest(host: string, path = '/ws', extraHeaders = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`
  );
}

export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/** A raw socket after (or before) the upgrade, collecting what the server sends. */
export class RawWebSocket {
  private buffer = Buffer.alloc(0);
  private upgraded = false;
  readonly frames: ServerFrame[] = [];
  status = 0;
  /** Resolves when the server ends or resets the TCP connection. */
  readonly ended: Promise<void>;
  private changed: (() => void) | null = null;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.changed?.();
    });
    socket.on('error', () => undefined);
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Opens TCP to the gateway (from `localAddress` if given) without sending anything. */
  static connect(port: number, options: { host?: string; localAddress?: string } = {}): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: options.host ?? '127.0.0.1', localAddress: options.localAddress }, () => resolve(new RawWebSocket(socket)));
      socket.once('error', reject);
    });
  }

  /** Connects and completes the upgrade; rejects unless the server answers 101. */
  static async open(port: number, options: { localAddress?: string } = {}): Promise<RawWebSocket> {
    const raw = await RawWebSocket.connect(port, options);
    raw.socket.write(upgradeRequest(`127.0.0.1:${port}`));
    await raw.until(() => raw.status !== 0, 10_000);
    if (raw.status !== 101) throw new Error(`upgrade answered ${raw.status}`);
    return raw;
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** The close code of the server's close frame, once it came. */
  get closeCode(): number | null {
    const close = this.frames.find((frame) => frame.opcode === Opcode.Close);
    return close === undefined ? null : close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
  }

  textFrames(): Array<Record<string, unknown>> {
    return this.frames.filter((frame) => frame.opcode === Opcode.Text).map((frame) => JSON.parse(frame.payload.toString()) as Record<string, unknown>);
  }

  /** Waits until `condition` holds (checked on every chunk received); false on timeout or end. */
  until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.changed = null;
        resolve(value);
      };
      const timer = setTimeout(() => done(condition()), timeoutMs);
      this.changed = () => {
        if (condition()) done(true);
      };
      void this.ended.then(() => done(condition()));
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private parse(): void {
    if (!this.upgraded) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString('latin1');
      this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? -1);
      this.buffer = this.buffer.subarray(end + 4);
      this.upgraded = true;
    }
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0]! & 0x0f;
      let length = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      this.frames.push({ opcode, payload: Buffer.from(this.buffer.subarray(offset, offset + length)) });
      this.buffer = this.buffer.subarray(offset + length);
    }
  }
}
