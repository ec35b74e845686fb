// A scripted stand-in for the Untradex gateway: a real `ws` server on port 0 that records what
// clients send and lets each test decide what to answer. Used by the student client tests.

import { EventEmitter } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import { StudentClient, type StudentClientOptions } from '../../../src/client/student-client.js';
import { decodeClientFrame, type DecodedClientFrame } from '../../../src/protocol/client-frame.js';
import { encodeWelcome, type ExamOpenState } from '../../../src/protocol/server-frame.js';

export type EventFrame = Extract<DecodedClientFrame, { type: 'event' }>;

/** Resolves once `check()` holds, re-checking whenever one of the emitters fires one of its events. */
export function when(check: () => boolean, ...sources: Array<[emitter: EventEmitter<any>, event: string]>): Promise<void> {
  return new Promise((resolve) => {
    const listener = (): void => {
      if (!check()) return;
      for (const [emitter, event] of sources) emitter.off(event, listener);
      resolve();
    };
    for (const [emitter, event] of sources) emitter.on(event, listener);
    listener();
  });
}

export class FakeConnection extends EventEmitter {
  /** Every decoded frame the client sent on this connection, hello included. */
  readonly frames: DecodedClientFrame[] = [];
  closeCode: number | null = null;

  constructor(
    readonly ws: WebSocket,
    readonly remoteAddress: string | undefined,
  ) {
    super();
    ws.on('message', (data) => {
      this.frames.push(decodeClientFrame(String(data), { maxValueBytes: 2048 }));
      this.emit('frame');
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.emit('close');
    });
  }

  get events(): EventFrame[] {
    return this.frames.filter((f): f is EventFrame => f.type === 'event');
  }

  get seqs(): number[] {
    return this.events.map((e) => e.seq);
  }

  waitForEvents(count: number): Promise<void> {
    return when(() => this.events.length >= count, [this, 'frame']);
  }

  welcome(lastSeq: number, state: ExamOpenState = 'open'): void {
    this.ws.send(encodeWelcome({ exam: 'E1', student: 'S1', lastSeq, state, serverTime: Date.now() }));
  }

  send(text: string): void {
    this.ws.send(text);
  }
}

export class FakeUntradex extends EventEmitter {
  readonly connections: FakeConnection[] = [];
  /**
   * What the server does with each hello; by default it welcomes with `lastSeq`.
   * `index` counts connections from 0.
   */
  onHello: (conn: FakeConnection, token: string, index: number) => void = (conn) => conn.welcome(this.lastSeq);
  lastSeq = 0;

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {
    super();
    wss.on('connection', (ws, req) => {
      const conn = new FakeConnection(ws, req.socket.remoteAddress);
      const index = this.connections.length;
      this.connections.push(conn);
      conn.once('frame', () => {
        const first = conn.frames[0];
        if (first?.type === 'hello') this.onHello(conn, first.token, index);
      });
      this.emit('connection');
    });
  }

  static async start(): Promise<FakeUntradex> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws', perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const address = wss.address();
    if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
    return new FakeUntradex(wss, `ws://127.0.0.1:${address.port}/ws`);
  }

  /** The `index`-th connection (0-based), once it exists. */
  async connection(index: number): Promise<FakeConnection> {
    await when(() => this.connections.length > index, [this, 'connection']);
    return this.connections[index] as FakeConnection;
  }

  async close(): Promise<void> {
    // ws's server close leaves accepted sockets open; cut them so the port is freed now.
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

type TestHandle = Pick<typeof import('tap').default, 'teardown' | 'setTimeout'>;

/** A fake server and a client pointed at it, both closed at teardown; fast backoff by default. */
export async function setup(
  t: TestHandle,
  options: { lastSeq?: number; client?: Partial<StudentClientOptions> } = {},
): Promise<{ server: FakeUntradex; client: StudentClient }> {
  t.setTimeout(10_000); // a missed frame fails fast instead of hanging the file
  const server = await FakeUntradex.start();
  server.lastSeq = options.lastSeq ?? 0;
  const client = new StudentClient({ url: server.url, token: 'tok-1', reconnect: { baseMs: 1, maxMs: 20 }, ...options.client });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  return { server, client };
}
