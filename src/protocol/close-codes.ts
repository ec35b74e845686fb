// WebSocket close codes of the student protocol (docs/PROTOCOL.md section 3, rule 8).
// Server and client both key on these names; the numbers are the public contract.

export const CloseCode = {
  /** The server is stopping (rule S1): the client reconnects later. */
  GoingAway: 1001,
  /** A text frame that is not valid UTF-8. */
  InvalidUtf8: 1007,
  /** A frame larger than `gateway.maxFrameBytes`. */
  MessageTooBig: 1009,
  /** After `err busy`: the server cannot store for now; the client reconnects with backoff (2.1). */
  TryAgainLater: 1013,
  /** Binary frame, bad JSON, not an object, unknown `t`, frame before hello, second hello, invalid seq. */
  ProtocolViolation: 4400,
  /** The hello's token was malformed, forged or expired. */
  BadToken: 4401,
  /** No hello within `gateway.helloTimeoutMs`. */
  HelloTimeout: 4408,
  /** A newer hello for the same student took over this session. */
  Replaced: 4409,
  /** Sustained rate abuse. */
  RateAbuse: 4429,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * The RFC 6455 codes the protocol does not send but the code still names: a client that leaves
 * normally, and the codes a peer's close arrives with (counted in telemetry/frame-counts.ts). Kept
 * apart from `CloseCode` so a switch over the protocol's own codes stays exhaustive.
 */
export const StandardCloseCode = {
  /** A normal close: the client leaves, or drops a socket to reconnect. */
  Normal: 1000,
  /** A close frame without a code (never sent on the wire; what `ws` reports). */
  NoStatus: 1005,
  /** The socket dropped without a close frame (never sent on the wire; what `ws` reports). */
  Abnormal: 1006,
  /** The peer met an unexpected condition. */
  InternalError: 1011,
} as const;

export type StandardCloseCode = (typeof StandardCloseCode)[keyof typeof StandardCloseCode];

/** The first of the application's private close codes (RFC 6455 section 7.4.2: 4000-4999). */
export const FIRST_PRIVATE_CLOSE_CODE = 4000;
