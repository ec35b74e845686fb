// When a writer's status means its batch is stuck on Redis: only a long `writing` is, and the
// readiness reason names the writer, how long, the batch and each connection's state.

import t from 'tap';
import { WRITER_STALL_MS, writerStallReason, type WriterLoopPhase } from '../../../src/control/writer-stall.js';

const loop = (overrides: Partial<WriterLoopPhase>): WriterLoopPhase => ({ phase: 'writing', phaseMs: 0, batchEvents: 630, redisConnections: ['ready', 'ready', 'connect', 'ready'], ...overrides });

t.test('a batch out to Redis for WRITER_STALL_MS or more is a stall, named with what an operator needs', async (t) => {
  t.equal(writerStallReason('writer-0', loop({ phaseMs: WRITER_STALL_MS - 1 })), null, 'a slow fsync is not a stall yet');
  t.equal(
    writerStallReason('writer-0', loop({ phaseMs: WRITER_STALL_MS + 1_400 })),
    'writer-0 has waited 31 s on Redis for a batch of 630 events (its connections: ready, ready, connect, ready); their students get no ack until it returns',
  );
  t.match(writerStallReason('writer-1', loop({ phaseMs: WRITER_STALL_MS, redisConnections: [] })), /its connections: none/);
});

t.test('no other phase is a stall, however long it lasts', async (t) => {
  for (const phase of ['idle', 'gated', 'lingering', 'acking', 'retrying'] as const) {
    t.equal(writerStallReason('writer-0', loop({ phase, phaseMs: 10 * WRITER_STALL_MS })), null, phase);
  }
});
