// One fuzzing client socket: sends a frame (whole or in fragments) and reads the server's next
// answer to it, so a fuzzer can compare each answer with what docs/PROTOCOL.md section 3 prescribes.

import { WebSocket } from 'ws';
import type { Answer } from './wire-oracle.js';

/** What the server did after one frame: a frame it sent, or the close. */
export type Observed =
  | { kind: 'frame'; frame: Record<string, unknown> }
  | { kind: 'close'; code: number }
  | { kind: 'timeout' };

export class FuzzConnection {
  private readonly queue: Observed[] = [];
  private waiter: ((event: Observed) => void) | null = null;
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(data.toString()) as Record<string, unknown>;
      } catch {
        frame = { t: 'unparseable' };
      }
      this.push({ kind: 'frame', frame });
    });
    ws.once('close', (code) => {
      this.closed = true;
      this.push({ kind: 'close', code });
    });
    ws.on('error', () => undefined);
  }

  static open(url: string, options: { localAddress?: string } = {}): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
      const connection = new FuzzConnection(ws);
      ws.once('open', () => resolve(connection));
      ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused with ${response.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Sends one frame; with `fragments` > 1 it goes out as that many WebSocket fragments. */
  send(bytes: Buffer, binary: boolean, fragments = 1): void {
    if (fragments <= 1 || bytes.length < fragments) {
      this.ws.send(bytes, { binary });
      return;
    }
    const size = Math.ceil(bytes.length / fragments);
    for (let at = 0; at < bytes.length; at += size) {
      this.ws.send(bytes.subarray(at, at + size), { binary, fin: at + size >= bytes.length });
    }
  }

  /** The next thing the server did, or a timeout. */
  next(timeoutMs: number): Promise<Observed> {
    const ready = this.queue.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      this.waiter = (event) => {
        clearTimeout(timer);
        resolve(event);
      };
    });
  }

  /**
   * Reads the server's answer to the frame just sent and says whether it is `expected`; an `err`
   * frame before a close is part of the close (4401 and 4429 come with one).
   */
  async answer(expected: Answer, timeoutMs = 10_000): Promise<{ ok: boolean; seen: string; welcome?: Record<string, unknown> }> {
    for (;;) {
      const event = await this.next(timeoutMs);
      if (event.kind === 'timeout') return { ok: false, seen: 'nothing' };
      if (event.kind === 'close') return { ok: expected.kind === 'close' && expected.code === event.code, seen: `close ${event.code}` };
      const frame = event.frame;
      if (frame.t === 'err' && expected.kind === 'close') continue;
      const seen = frame.t === 'nack' ? `nack ${String(frame.code)} ${String(frame.seq)}` : frame.t === 'ack' ? `ack ${String(frame.seq)}` : String(frame.t);
      switch (expected.kind) {
        case 'welcome':
          return { ok: frame.t === 'welcome', seen, welcome: frame };
        case 'ack':
          return { ok: frame.t === 'ack' && frame.seq === expected.seq, seen };
        case 'nack':
          return { ok: frame.t === 'nack' && frame.seq === expected.seq && frame.code === expected.code, seen };
        case 'close':
          return { ok: false, seen };
      }
    }
  }

  terminate(): void {
    this.ws.terminate();
  }

  private push(event: Observed): void {
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      waiter(event);
    } else {
      this.queue.push(event);
    }
  }
}
