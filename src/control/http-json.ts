// Small HTTP helpers of the control API: JSON replies, docs/PROTOCOL.md's error shape, bounded bodies,
// and constant-time bearer checks.

import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type ControlErrorCode =
  | 'unauthorized'
  | 'bad_request'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'conflict'
  | 'unavailable'
  | 'internal';

export class ControlHttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: ControlErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

export function sendError(response: ServerResponse, error: ControlHttpError): void {
  sendJson(response, error.status, { error: error.error, message: error.message });
}

/** Compares bearer tokens by their SHA-256 so the comparison takes the same time for any input. */
export function bearerMatches(request: IncomingMessage, expected: string): boolean {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer (.+)$/.exec(header);
  if (match === null) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(expected));
}

/** Reads a JSON body of at most `limit` bytes; anything else is a 4xx with a clear message. */
export async function readJsonBody(request: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > limit) throw new ControlHttpError(413, 'payload_too_large', `request bodies are limited to ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      request.destroy();
      throw new ControlHttpError(413, 'payload_too_large', `request bodies are limited to ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ControlHttpError(400, 'bad_request', 'the body is not valid JSON');
  }
}
