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
