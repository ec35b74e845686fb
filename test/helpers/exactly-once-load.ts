// The exactly-once workload of the end-to-end tests: every student answers through the client
// library while resending unacked events and dropping its connection at seeded random moments;
// afterwards what Redis stores must be exactly what was acked, per student, in order, once.

import type { Test } from 'tap';
import { StudentClient } from '../../src/client/student-client.js';
import type { OutboxEvent } from '../../src/client/types.js';
import { seededUnit } from './seeded-random.js';
import type { StoredEvent } from './stored-events.js';

export interface ChurnOptions {
  gatewayUrl: string;
  tokens: Record<string, string>;
  students: readonly string[];
  answersPerStudent: number;
  seed: number;
  /** The question, value and client time of answer `index` (random: the run's seeded generator). */
  answer(index: number, random: () => number): { question: string; value: string; clientTs?: number };
}

export interface ChurnResult {
  /** Each student's acked events, in the order the acks came. */
  acked: Map<string, OutboxEvent[]>;
  reconnects: number;
  /** Nacks seen, as `student seq code`: a workload of valid events must get none. */
  nacks: string[];
}

/** Opens, answers with resends and dropped connections, submits, and waits for every ack. */
export async function answerWithChurn(t: Test, options: ChurnOptions): Promise<ChurnResult> {
  const random = seededUnit(options.seed);
  const result: ChurnResult = { acked: new Map(), reconnects: 0, nacks: [] };
  await Promise.all(
    options.students.map(async (student) => {
      const client = new StudentClient({ url: options.gatewayUrl, token: options.tokens[student]!, reconnect: { baseMs: 20, maxMs: 200 } });
      t.teardown(() => client.close());
      const mine: OutboxEvent[] = [];
      result.acked.set(student, mine);
      client.on('acked', (event) => mine.push(event));
      client.on('nacked', (event, code) => result.nacks.push(`${student} ${event.seq} ${code}`));
      await client.connect();
      client.open();
      for (let index = 0; index < options.answersPerStudent; index += 1) {
        const { question, value, clientTs } = options.answer(index, random);
        client.answer(question, value, clientTs);
        const roll = random();
        if (roll < 0.05) client.resendUnacked();
        else if (roll < 0.08) {
          client.dropConnection();
          result.reconnects += 1;
        }
        if (index % 7 === 0) await new Promise((resolve) => setTimeout(resolve, random() * 20));
      }
      client.submit();
      await client.flushed();
      await client.close();
    }),
  );
  return result;
}

/** Students whose stored seqs are not exactly their acked seqs in order, and how many events are stored. */
export function compareStoredWithAcked(stored: Map<string, StoredEvent[]>, acked: Map<string, OutboxEvent[]>): { mismatched: string[]; storedTotal: number } {
  const mismatched: string[] = [];
  let storedTotal = 0;
  for (const [student, events] of acked) {
    const seqs = (stored.get(student) ?? []).map((event) => event.seq);
    storedTotal += seqs.length;
    const ackedSeqs = events.map((event) => event.seq).sort((a, b) => a - b);
    if (JSON.stringify(seqs) !== JSON.stringify(ackedSeqs)) mismatched.push(`${student}: stored ${JSON.stringify(seqs)}, acked ${JSON.stringify(ackedSeqs)}`);
  }
  return { mismatched, storedTotal };
}
