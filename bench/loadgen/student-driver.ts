// One simulated student, two ways: on the real client (StudentClient of src/client/student-client.ts:
// outbox, resend, reconnect), or on a bare ws socket that keeps only two small arrays per student (for
// the saturation runs, where the load generator's own CPU per event decides how far it can push).

import WebSocket from 'ws';
import type { EventKind } from '../../src/events/answer-event.js';
import { StudentClient } from '../../src/client/student-client.js';

export interface AckSink {
  /** An event of `student` was acked after `latencyMs` from its first send. */
  acked(student: StudentDriver, kind: EventKind, latencyMs: number): void;
  nacked(student: StudentDriver): void;
}

export interface StudentDriver {
  readonly index: number;
  readonly welcomed: boolean;
  readonly errors: number;
  readonly reconnects: number;
  /** Resolves at the first welcome. */
  connect(): Promise<void>;
  send(kind: EventKind, question: string | null, value: string | null): void;
  readonly pending: number;
  close(): Promise<void>;
}

export interface DriverOptions {
  index: number;
  url: string;
  token: string;
  localAddress: string;
  sink: AckSink;
}

export class ClientStudent implements StudentDriver {
  readonly index: number;
  welcomed = false;
  private readonly client: StudentClient;

  constructor(options: DriverOptions) {
    this.index = options.index;
    this.client = new StudentClient({
      url: options.url,
      token: options.token,
      localAddress: options.localAddress,
      reconnect: { baseMs: 500, maxMs: 5000 },
      handshakeTimeoutMs: 30_000,
    });
    this.client.on('acked', (event) => {
      if (event.firstSentAt !== null && event.settledAt !== null) options.sink.acked(this, event.kind, event.settledAt - event.firstSentAt);
    });
    this.client.on('nacked', () => options.sink.nacked(this));
    // err frames are counted in client.stats; the listener keeps EventEmitter from throwing on 'error'-like names.
    this.client.on('err', () => undefined);
  }

  get errors(): number {
    return this.client.stats.errors;
  }

  get reconnects(): number {
    return this.client.stats.reconnects;
  }

  get pending(): number {
    return this.client.pendingCount;
  }

  async connect(): Promise<void> {
    await this.client.connect();
    this.welcomed = true;
  }

  send(kind: EventKind, question: string | null, value: string | null): void {
    if (kind === 'answer') this.client.answer(question ?? 'Q1', value ?? '');
    else if (kind === 'open') this.client.open();
    else this.client.submit();
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

const KIND_OF = ['open', 'answer', 'submit'] as const;
const KIND_CODE: Record<EventKind, number> = { open: 0, answer: 1, submit: 2 };

/** The protocol with nothing but what a load generator needs: FIFO of unacked seqs, cumulative acks, reconnect and resend. */
export class RawStudent implements StudentDriver {
  readonly index: number;
  welcomed = false;
  errors = 0;
  reconnects = 0;
  private ws: WebSocket | null = null;
  private ready = false;
  private closing = false;
  private nextSeq = 1;
  // Unacked events, oldest first: seq, kind code, first-send time, and the frame to resend.
  private seqs: number[] = [];
  private kinds: number[] = [];
  private sentAt: number[] = [];
  private frames: string[] = [];
  private resendTimer: NodeJS.Timeout | null = null;
  private welcomedOnce: (() => void) | null = null;

  constructor(private readonly options: DriverOptions) {
    this.index = options.index;
  }

  get pending(): number {
    return this.seqs.length;
  }

  connect(): Promise<void> {
    return new Promise((resolve) => {
      this.welcomedOnce = resolve;
      this.open();
    });
  }

  send(kind: EventKind, question: string | null, value: string | null): void {
    const seq = this.nextSeq++;
    const frame =
      kind === 'answer'
        ? `{"t":"ev","seq":${seq},"k":"answer","q":"${question ?? 'Q1'}","v":${JSON.stringify(value ?? '')},"ts":${Date.now()}}`
        : `{"t":"ev","seq":${seq},"k":"${kind}","ts":${Date.now()}}`;
    this.seqs.push(seq);
    this.kinds.push(KIND_CODE[kind]);
    this.sentAt.push(performance.now());
    this.frames.push(frame);
    if (this.ready) this.ws!.send(frame);
  }

  close(): Promise<void> {
    this.closing = true;
    if (this.resendTimer !== null) clearTimeout(this.resendTimer);
    const ws = this.ws;
    if (ws === null || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000);
    });
  }

  private open(): void {
    const ws = new WebSocket(this.options.url, { perMessageDeflate: false, handshakeTimeout: 30_000, localAddress: this.options.localAddress });
    this.ws = ws;
    ws.on('open', () => ws.send(`{"t":"hello","token":"${this.options.token}"}`));
    ws.on('message', (data) => this.onFrame(String(data)));
    ws.on('error', () => {
      this.errors++;
    });
    ws.on('close', () => {
      if (ws !== this.ws) return;
      this.ready = false;
      if (this.closing) return;
      this.reconnects++;
      setTimeout(() => this.open(), 250 + Math.random() * 750);
    });
  }

  private onFrame(text: string): void {
    const frame = JSON.parse(text) as { t: string; seq?: number; lastSeq?: number; code?: string };
    switch (frame.t) {
      case 'ack':
        this.settleUpTo(frame.seq ?? 0);
        return;
      case 'welcome': {
        const lastSeq = frame.lastSeq ?? 0;
        this.settleUpTo(lastSeq);
        this.nextSeq = Math.max(this.nextSeq, lastSeq + 1);
        this.ready = true;
        for (const f of this.frames) this.ws!.send(f);
        this.welcomed = true;
        this.welcomedOnce?.();
        this.welcomedOnce = null;
        return;
      }
      case 'nack': {
        const at = this.seqs.indexOf(frame.seq ?? -1);
        if (at >= 0) {
          this.seqs.splice(at, 1);
          this.kinds.splice(at, 1);
          this.sentAt.splice(at, 1);
          this.frames.splice(at, 1);
          this.options.sink.nacked(this);
        }
        return;
      }
      case 'err':
        this.errors++;
        // busy / rate_limited: the event was not stored; send what is unacked again a little later.
        if ((frame.code === 'busy' || frame.code === 'rate_limited') && this.resendTimer === null) {
          this.resendTimer = setTimeout(() => {
            this.resendTimer = null;
            if (this.ready) for (const f of this.frames) this.ws!.send(f);
          }, 50 + Math.random() * 100);
        }
        return;
      default:
        return;
    }
  }

  private settleUpTo(seq: number): void {
    if (this.seqs.length === 0 || this.seqs[0]! > seq) return;
    const now = performance.now();
    let n = 0;
    while (n < this.seqs.length && this.seqs[n]! <= seq) n++;
    const kinds = this.kinds.splice(0, n);
    const sent = this.sentAt.splice(0, n);
    this.seqs.splice(0, n);
    this.frames.splice(0, n);
    for (let i = 0; i < n; i++) this.options.sink.acked(this, KIND_OF[kinds[i]!]!, now - sent[i]!);
  }
}
