// Student load for fault tests: real StudentClients that keep answering while a fault is injected,
// remembering per student what was acked, so the test can compare it with what was stored.

import { performance } from 'node:perf_hooks';
import { StudentClient } from '../../../src/client/student-client.js';
import type { OutboxEvent } from '../../../src/client/types.js';
import type { ControlClient } from '../../helpers/untradex.js';
import type { TeardownHost } from '../../helpers/redis-server.js';

export interface LoadOptions {
  exam: string;
  students: number;
  /** Answers each student sends, one every `pauseMs` (an `open` comes first, a `submit` last). */
  answersEach: number;
  pauseMs: number;
  /** Default: reconnect quickly ({ baseMs: 20, maxMs: 300 }). `false`: a lost socket stops the student. */
  reconnect?: { baseMs: number; maxMs: number } | false;
  /** `false`: nobody submits at the end. Default true. */
  submit?: boolean;
}

export interface LoadStudent {
  id: string;
  client: StudentClient;
  /** Seqs settled as durable (ack or welcome lastSeq), in the order they were settled. */
  acked: number[];
  /** Every settled event with when it was first sent and settled (performance.now()). */
  settled: OutboxEvent[];
  /** Seqs of every event this student created. */
  created: number[];
  disconnects: number;
  /** The close code of each lost socket, in order. */
  closeCodes: number[];
  nacks: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class StudentLoad {
  private finished: Promise<void> = Promise.resolve();
  private stopRequested = false;

  private constructor(
    readonly exam: string,
    readonly students: readonly LoadStudent[],
  ) {}

  /** Connects every student (each one welcomed) and starts them answering. */
  static async start(t: TeardownHost, ux: ControlClient & { gatewayUrl: string }, options: LoadOptions): Promise<StudentLoad> {
    const ids = Array.from({ length: options.students }, (_, index) => `S${index}`);
    const tokens = await ux.tokens(options.exam, ids);
    const students = await Promise.all(
      ids.map(async (id) => {
        const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[id]!, reconnect: options.reconnect ?? { baseMs: 20, maxMs: 300 } });
        t.teardown(() => client.close());
        const student: LoadStudent = { id, client, acked: [], settled: [], created: [], disconnects: 0, closeCodes: [], nacks: 0 };
        client.on('acked', (event) => {
          student.acked.push(event.seq);
          student.settled.push(event);
        });
        client.on('nacked', () => (student.nacks += 1));
        client.on('disconnect', (code) => {
          student.disconnects += 1;
          student.closeCodes.push(code);
        });
        await client.connect();
        return student;
      }),
    );
    const load = new StudentLoad(options.exam, students);
    load.finished = Promise.all(students.map((student, index) => load.run(student, index, options))).then(() => undefined);
    return load;
  }

  private async run(student: LoadStudent, index: number, options: LoadOptions): Promise<void> {
    // Spread the students' first answers so the load is steady rather than in lockstep waves.
    await sleep((index * options.pauseMs) / options.students);
    student.created.push(student.client.open());
    for (let answer = 0; answer < options.answersEach && !this.stopRequested; answer += 1) {
      // A client that stopped for good (reconnect off) takes no more events.
      if (student.client.status === 'stopped') return;
      student.created.push(student.client.answer(`Q${answer % 7}`, `${student.id} answer ${answer} 🎓 "q" 'x'`));
      await sleep(options.pauseMs);
    }
    if (options.submit !== false && student.client.status !== 'stopped') student.created.push(student.client.submit());
  }

  get ackedTotal(): number {
    return this.students.reduce((total, student) => total + student.acked.length, 0);
  }

  get createdTotal(): number {
    return this.students.reduce((total, student) => total + student.created.length, 0);
  }

  /** Resolves once the load has acked at least `count` events in all (a fault lands mid-load). */
  async ackedAtLeast(count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.ackedTotal < count) {
      if (performance.now() > deadline) throw new Error(`only ${this.ackedTotal} of ${count} events acked in ${timeoutMs} ms`);
      await sleep(5);
    }
  }

  /** Makes the students stop creating new events (each still submits unless told not to). */
  stop(): void {
    this.stopRequested = true;
  }

  /** Waits until every student has created all its events. */
  created(): Promise<void> {
    return this.finished;
  }

  /**
   * Waits until every student's events are all created and settled (acked or nacked). An event
   * that is never settled (an ack lost for good) fails here, naming how many are missing.
   */
  async flushed(timeoutMs = 30_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const pending = this.students.reduce((total, student) => total + student.client.pendingCount, 0);
        reject(new Error(`${pending} events still unsettled after ${timeoutMs} ms (acks lost?)`));
      }, timeoutMs);
    });
    try {
      await Promise.race([this.finished.then(() => Promise.all(this.students.map((student) => student.client.flushed()))), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.students.map((student) => student.client.close()));
  }
}
