// What one connection actor counts of its wire: histograms of ack latency and of the stages before
// a welcome, and nack, err and close frames by code, in a SharedArrayBuffer the root reads for status.
//
// Why this shape: the hot path pays, per acked event, a scan of 14 bounds and three typed-array
// increments, with no attributes, no OpenTelemetry call, no message to another thread, no
// allocation (receive times sit in a reused per-session array, stamped once per loop turn by a
// TurnClock); measured at some 30-70 ns per event on the shared test box. The buffer belongs to the
// root, so the counts outlive a restarted actor (counters never go back) and the main thread reads
// them without a call into the actor. One writer (the actor's thread) and plain Float64 stores:
// a reader may see a count one increment behind, never a torn one (aligned 8-byte stores on the
// 64-bit platforms Node runs on). The main thread turns the sums into OpenTelemetry data
// (src/telemetry/status-metric-producer.ts).

import { ERR_CODES, NACK_CODES, type ErrCode, type NackCode } from '../../src/protocol/server-frame.js';
import { COUNTED_CLOSE_CODES, emptyFrameCounts, type FrameCounts } from '../../src/telemetry/frame-counts.js';
import { HISTOGRAM_SLOTS, readHistogram, recordLatency, sumHistograms, type HistogramSnapshot } from '../../src/telemetry/latency-histogram.js';

const ACK = 0;
const WELCOME = ACK + HISTOGRAM_SLOTS;
const UPGRADE = WELCOME + HISTOGRAM_SLOTS;
const HELLO_WAIT = UPGRADE + HISTOGRAM_SLOTS;
const NACKS = HELLO_WAIT + HISTOGRAM_SLOTS;
const ERRS = NACKS + NACK_CODES.length;
const CLOSES = ERRS + ERR_CODES.length;
const SLOTS = CLOSES + COUNTED_CLOSE_CODES.length + 1;

const NACK_SLOT: Readonly<Record<NackCode, number>> = Object.fromEntries(NACK_CODES.map((code, index) => [code, NACKS + index])) as Record<NackCode, number>;
const ERR_SLOT: Readonly<Record<ErrCode, number>> = Object.fromEntries(ERR_CODES.map((code, index) => [code, ERRS + index])) as Record<ErrCode, number>;

export function createWireTallies(): SharedArrayBuffer {
  return new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * SLOTS);
}

export interface WireFigures {
  /** From an event frame read off the socket to the ack frame that covers it, ms. */
  ackLatency: HistogramSnapshot;
  /** From the hello frame read off the socket to the welcome sent, ms. */
  welcomeLatency: HistogramSnapshot;
  /** From the socket accepted (with TLS: its handshake done) to the 101 of its upgrade written, ms. */
  upgradeLatency: HistogramSnapshot;
  /** From the 101 written to the hello frame read (the student's turn to send it, then this actor's to read it), ms. */
  helloWait: HistogramSnapshot;
  frames: FrameCounts;
}

/** The connection actor's side: only ever incremented, by this one thread. */
export class WireTallies {
  private readonly slots: Float64Array;

  constructor(sab: SharedArrayBuffer) {
    this.slots = new Float64Array(sab);
  }

  ackLatency(ms: number): void {
    recordLatency(this.slots, ACK, ms);
  }

  welcomeLatency(ms: number): void {
    recordLatency(this.slots, WELCOME, ms);
  }

  upgradeLatency(ms: number): void {
    recordLatency(this.slots, UPGRADE, ms);
  }

  helloWait(ms: number): void {
    recordLatency(this.slots, HELLO_WAIT, ms);
  }

  nack(code: NackCode): void {
    this.slots[NACK_SLOT[code]]! += 1;
  }

  err(code: ErrCode): void {
    this.slots[ERR_SLOT[code]]! += 1;
  }

  closed(code: number): void {
    const index = COUNTED_CLOSE_CODES.indexOf(code);
    this.slots[CLOSES + (index === -1 ? COUNTED_CLOSE_CODES.length : index)]! += 1;
  }
}

/** The root's side: the sums over every connection actor of the process. */
export function readWireTallies(buffers: readonly SharedArrayBuffer[]): WireFigures {
  const frames = emptyFrameCounts();
  const views = buffers.map((sab) => new Float64Array(sab));
  for (const slots of views) {
    NACK_CODES.forEach((code) => (frames.nacks[code] += slots[NACK_SLOT[code]]!));
    ERR_CODES.forEach((code) => (frames.errs[code] += slots[ERR_SLOT[code]]!));
    COUNTED_CLOSE_CODES.forEach((code, index) => (frames.closes[String(code)]! += slots[CLOSES + index]!));
    frames.closes.other! += slots[CLOSES + COUNTED_CLOSE_CODES.length]!;
  }
  return {
    ackLatency: sumHistograms(views.map((slots) => readHistogram(slots, ACK))),
    welcomeLatency: sumHistograms(views.map((slots) => readHistogram(slots, WELCOME))),
    upgradeLatency: sumHistograms(views.map((slots) => readHistogram(slots, UPGRADE))),
    helloWait: sumHistograms(views.map((slots) => readHistogram(slots, HELLO_WAIT))),
    frames,
  };
}
