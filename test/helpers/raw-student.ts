// A bare WebSocket student for protocol tests: sends exactly the frames a test writes and records
// every frame and the close code, so tests can assert on the wire, not on a client library.

import { WebSocket } from 'ws';

export interface RawStudent {
  ws: WebSocket;
  frames: Array<Record<string, unknown>>;
  send(frame: unknown): void;
  sendText(text: string): void;
  /** Resolves with the first received frame matching `predicate` (already received ones count). */
  next(predicate: (frame: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the close code and reason once the socket is closed. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function connectRaw(url: string): Promise<RawStudent> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const frames: Array<Record<string, unknown>> = [];
  const waiters: Array<{ predicate: (frame: Record<string, unknown>) => boolean; resolve: (frame: Record<string, unknown>) => void }> = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    frames.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  return {
    ws,
    frames,
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendText: (text) => ws.send(text),
    next(predicate, timeoutMs = 10_000) {
      const found = frames.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`)), timeoutMs);
        waiters.push({ predicate, resolve: (frame) => { clearTimeout(timer); resolve(frame); } });
      });
    },
    closed,
    close: () => ws.close(),
  };
}

/** Connects, says hello with `token`, and waits for the welcome. */
export async function helloRaw(url: string, token: string): Promise<{ student: RawStudent; welcome: Record<string, unknown> }> {
  const student = await connectRaw(url);
  student.send({ t: 'hello', token });
  const welcome = await student.next((frame) => frame.t === 'welcome' || frame.t === 'err');
  return { student, welcome };
}
