// Drives a realistic exam through the client library and remembers what the final tables must
// hold afterwards: the last answer per question, the event count, the submissions.

import { StudentClient } from '../../src/client/student-client.js';
import type { OutboxEvent } from '../../src/client/types.js';
import { pollUntil } from './poll.js';
import type { ControlClient } from './untradex.js';

export interface ExpectedResults {
  exam: string;
  /** `<student>|<question>` -> the last answer's value and seq. */
  answers: Map<string, { value: string; seq: number }>;
  events: number;
  submissions: number;
  students: number;
}

/** What the final tables must hold after students were acked `acked` (each student's events, in any order). */
export function expectedFromAcked(exam: string, acked: ReadonlyMap<string, readonly OutboxEvent[]>): ExpectedResults {
  const expected: ExpectedResults = { exam, answers: new Map(), events: 0, submissions: 0, students: acked.size };
  for (const [student, events] of acked) {
    // In seq order, so the last answer to each question is the one that stays.
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      expected.events += 1;
      if (event.kind === 'answer') expected.answers.set(`${student}|${event.question!}`, { value: event.value!, seq: event.seq });
      if (event.kind === 'submit') expected.submissions += 1;
    }
  }
  return expected;
}

export interface TrafficOptions {
  students: number;
  questions: number;
  /** How many times each question is answered (the last one counts). */
  changes: number;
  /** Every n-th student submits (1 = all). */
  submitEvery: number;
}

export async function runExamTraffic(ux: ControlClient & { gatewayUrl: string }, exam: string, options: TrafficOptions, teardown: (fn: () => unknown) => void): Promise<ExpectedResults> {
  const students = Array.from({ length: options.students }, (_, index) => `S${index}`);
  const tokens = await ux.tokens(exam, students);
  const expected: ExpectedResults = { exam, answers: new Map(), events: 0, submissions: 0, students: options.students };
  await Promise.all(
    students.map(async (student, index) => {
      const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]! });
      teardown(() => client.close());
      await client.connect();
      client.open();
      expected.events += 1;
      for (let change = 0; change < options.changes; change += 1) {
        for (let question = 0; question < options.questions; question += 1) {
          const value = `answer ${change} to Q${question} by ${student} — "quoted", 'single', emoji 🎓`;
          const seq = client.answer(`Q${question}`, value, Date.now());
          expected.answers.set(`${student}|Q${question}`, { value, seq });
          expected.events += 1;
        }
      }
      if (index % options.submitEvery === 0) {
        client.submit();
        expected.events += 1;
        expected.submissions += 1;
      }
      await client.flushed();
      await client.close();
    }),
  );
  return expected;
}

export interface ExamBody {
  state: string;
  students: number;
  events: number;
  export: { bucketsDone: number; bucketsTotal: number; rows: number; percent: number; error: string | null; finishedAt: string | null };
}

/** Polls GET /api/exams/{exam} until its state is one of `states`. */
export async function waitForExamState(ux: ControlClient, exam: string, states: readonly string[], timeoutMs = 120_000): Promise<ExamBody> {
  const reply = await pollUntil(
    `exam ${exam} to reach ${states.join('/')}`,
    () => ux.api<ExamBody>('GET', `/api/exams/${exam}`),
    (answer) => answer.status === 200 && states.includes(answer.body.state),
    { timeoutMs, intervalMs: 100 },
  );
  return reply.body;
}
