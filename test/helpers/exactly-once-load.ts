// The exactly-once workload of the end-to-end tests: every student answers through the client
// library while resending unacked events and dropping its connection at seeded random moments;
// afterwards what Redis stores must be exactly what was acked, per student, in order, once.

import type { Test } from 'tap';
import { StudentClient } from '../../src/client/student-client.js';
import type { OutboxEvent } from '../../src/client/types.js';
import { seededUnit } from './seeded-random.js';
import type { StoredEvent } from './stored-events.js';
import type { ControlClient } from './untradex.js';

/** A running Untradex as the workload needs it: where students connect, and who mints their tokens. */
export type StudentGateway = Pick<ControlClient, 'tokens'> & { gatewayUrl: string };

export interface ChurnOptions {
  /** How many students (S0, S1, ...). */
  students: number;
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
export async function answerWithChurn(t: Test, ux: StudentGateway, exam: string, options: ChurnOptions): Promise<ChurnResult> {
  const random = seededUnit(options.seed);
  const students = Array.from({ length: options.students }, (_, index) => `S${index}`);
  const tokens = await ux.tokens(exam, students);
  const result: ChurnResult = { acked: new Map(), reconnects: 0, nacks: [] };
  await Promise.all(
    students.map(async (student) => {
      const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]!, reconnect: { baseMs: 20, maxMs: 200 } });
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
  t.same(result.nacks, [], 'nothing nacked');
  t.ok(result.reconnects > 0, `forced ${result.reconnects} reconnects`);
  return result;
}

export interface WatchedStudents {
  clients: StudentClient[];
  /** Each student's acked events, in the order the acks came. */
  acked: Map<string, OutboxEvent[]>;
  /** Nacks seen, as `student seq code`. */
  nacks: string[];
}

/** Connects each of `students` (reconnecting quickly), recording what each is acked and nacked. */
export async function connectWatchedStudents(t: Test, ux: StudentGateway, exam: string, students: readonly string[]): Promise<WatchedStudents> {
  const tokens = await ux.tokens(exam, [...students]);
  const watched: WatchedStudents = { clients: [], acked: new Map(students.map((student) => [student, []])), nacks: [] };
  watched.clients = await Promise.all(
    students.map(async (student) => {
      const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]!, reconnect: { baseMs: 20, maxMs: 300 } });
      t.teardown(() => client.close());
      client.on('acked', (event) => watched.acked.get(student)!.push(event));
      client.on('nacked', (event, code) => watched.nacks.push(`${student} ${event.seq} ${code}`));
      await client.connect();
      return client;
    }),
  );
  return watched;
}

/**
 * The ingest promise over what Redis stores: for every student, exactly the acked seqs, in order,
 * none twice, `eventsEach` of them (open, answers, submit) with the submit last.
 */
export function assertStoredAsAcked(t: Test, stored: Map<string, StoredEvent[]>, acked: Map<string, OutboxEvent[]>, eventsEach: number, where: string): void {
  const mismatched: string[] = [];
  for (const [student, events] of acked) {
    const mine = stored.get(student) ?? [];
    const seqs = mine.map((event) => event.seq);
    const ackedSeqs = events.map((event) => event.seq).sort((a, b) => a - b);
    if (JSON.stringify(seqs) !== JSON.stringify(ackedSeqs)) mismatched.push(`${student}: stored ${JSON.stringify(seqs)}, acked ${JSON.stringify(ackedSeqs)}`);
    else if (seqs.length !== eventsEach) mismatched.push(`${student}: ${seqs.length} events stored and acked, not ${eventsEach}`);
    else if (mine.at(-1)?.kind !== 's') mismatched.push(`${student}: the submit is not stored last`);
  }
  t.same(mismatched, [], `${where}, Redis holds exactly the acked events, in order, none twice, the submit last`);
}
