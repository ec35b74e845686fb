// The naive baseline of the ingest benchmarks: one thread, `ws` and one ioredis connection, one
// awaited Redis call per event, speaking enough of the student protocol (hello, welcome, ev, ack).

import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { verifyStudentToken } from '../../src/auth/student-token.js';
import { WriteOutcome, type EventKind } from '../../src/events/answer-event.js';
import { bucketOf } from '../../src/redis/bucket-keys.js';
import { BucketStore } from '../../src/redis/bucket-store.js';
import { loadFunctionLibrary } from '../../src/redis/function-library.js';
import { encodeAck, encodeNack, encodeWelcome } from '../../src/protocol/server-frame.js';

export interface NaiveServerOptions {
  host: string;
  port: number;
  redisPort: number;
  secret: string;
  buckets: number;
  /**
   * false: the floor, not a server: it welcomes like the naive server (its claim goes to Redis) but
   * acks every event at once and stores nothing. What reading and acking a WebSocket frame costs
   * in Node, below which no design that stores events can go. Default true.
   */
  storeEvents?: boolean;
}

interface Session {
  exam: string;
  student: string;
  bucket: number;
  epoch: number;
}

const KINDS = new Set<EventKind>(['open', 'answer', 'submit']);

/** Starts the naive server; resolves once it listens. */
export async function startNaiveServer(options: NaiveServerOptions): Promise<{ close(): Promise<void> }> {
  const redis = new Redis({ host: '127.0.0.1', port: options.redisPort });
  await loadFunctionLibrary(redis);
  const store = new BucketStore(redis, options.buckets);
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false, clientTracking: false });

  wss.on('connection', (ws: WebSocket) => {
    let session: Session | null = null;
    ws.on('error', () => undefined);
    ws.on('message', async (data) => {
      let frame: { t?: unknown; token?: unknown; seq?: unknown; k?: unknown; q?: unknown; v?: unknown; ts?: unknown };
      try {
        frame = JSON.parse(String(data)) as typeof frame;
      } catch {
        ws.close(4400);
        return;
      }
      try {
        if (session === null) {
          if (frame.t !== 'hello' || typeof frame.token !== 'string') return ws.close(4400);
          const claims = verifyStudentToken(options.secret, frame.token);
          const claim = await store.claimSession(claims.exam, claims.student);
          session = { exam: claims.exam, student: claims.student, bucket: bucketOf(claims.exam, claims.student, options.buckets), epoch: claim.epoch };
          ws.send(encodeWelcome({ exam: claims.exam, student: claims.student, lastSeq: claim.lastSeq, state: claim.closed ? 'closed' : 'open', serverTime: Date.now() }));
          return;
        }
        if (frame.t !== 'ev' || typeof frame.seq !== 'number' || !KINDS.has(frame.k as EventKind)) return ws.close(4400);
        const kind = frame.k as EventKind;
        if (options.storeEvents === false) return ws.send(encodeAck(frame.seq));
        const [outcome] = await store.writeBatch(session.exam, session.bucket, [
          {
            student: session.student,
            epoch: session.epoch,
            seq: frame.seq,
            kind,
            question: kind === 'answer' ? String(frame.q) : null,
            value: kind === 'answer' ? String(frame.v) : null,
            clientTs: typeof frame.ts === 'number' ? frame.ts : null,
            serverTs: Date.now(),
          },
        ]);
        if (outcome === WriteOutcome.Stored || outcome === WriteOutcome.Duplicate) ws.send(encodeAck(frame.seq));
        else ws.send(encodeNack(frame.seq, outcome === WriteOutcome.Submitted ? 'submitted' : 'exam_closed'));
      } catch {
        ws.close(4401);
      }
    });
  });

  await new Promise<void>((resolve) => http.listen({ host: options.host, port: options.port, backlog: 4096 }, resolve));
  return {
    async close() {
      wss.close();
      http.close();
      redis.disconnect();
    },
  };
}
