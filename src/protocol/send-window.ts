// How many events a client may have on the wire unanswered (docs/PROTOCOL.md section 7, rule 3): the
// client never exceeds it, and the gateway does not count that many as abuse after a refusal.

/**
 * A client sends at most this many events before their acks come back. When the gateway refuses
 * one for its rate, up to this many more may already be on their way: they are refused too (err
 * rate_limited, nothing stored), but only those past it count as strikes toward close 4429.
 */
export const MAX_SEND_WINDOW = 64;
