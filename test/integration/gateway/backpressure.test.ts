// Backpressure (docs/PROTOCOL.md section 3, rule 6): with tiny rings and Redis writes held back, a
// burst fills the rings, sockets are paused instead of events dropped, and once Redis is back
// every event is stored and acked exactly once.

import t from 'tap';
import { StudentClient } from '../../../src/client/student-client.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

const STUDENTS = 20;
const EVENTS_EACH = 100;

interface StatusBody {
  connections: { blocked: number };
  rings: { usedBytes: number };
}

t.test('a burst into tiny rings pauses sockets and loses nothing', async (t) => {
  const ux = await startUntradexInProcess(t, {
    redis: { buckets: 8 },
    gateway: { connectionActors: 2, ringBytes: 4096, ackRingBytes: 4096, maxValueBytes: 256 },
    writers: { count: 1, batchMaxEvents: 16 },
  });
  const students = Array.from({ length: STUDENTS }, (_, index) => `B${index}`);
  const tokens = await ux.tokens('BURST', students);
  const clients = await Promise.all(
    students.map(async (student) => {
      const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]!, reconnect: false });
      t.teardown(() => client.close());
      await client.connect();
      return client;
    }),
  );
  const ackedSeqs = new Map<string, number[]>(students.map((student) => [student, []]));
  clients.forEach((client, index) => client.on('acked', (event) => ackedSeqs.get(students[index]!)!.push(event.seq)));

  // Hold every Redis write: the writers' calls wait, so the rings can only fill.
  const admin = ux.redis();
  await admin.call('CLIENT', 'PAUSE', '60000', 'WRITE');
  for (let round = 0; round < EVENTS_EACH; round += 1) {
    for (const client of clients) client.answer(`Q${round % 5}`, `value-${round}-${'x'.repeat(40)}`);
  }

  let status: StatusBody | undefined;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    status = (await ux.api<StatusBody>('GET', '/api/status')).body;
    if (status.connections.blocked > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.ok(status !== undefined && status.connections.blocked > 0, `sockets were paused while the rings were full (${status?.connections.blocked} blocked)`);
  t.equal(clients.reduce((total, client) => total + client.stats.acked, 0), 0, 'nothing is acked while Redis holds the writes');

  await admin.call('CLIENT', 'UNPAUSE');
  await Promise.all(clients.map((client) => client.flushed()));

  const stored = await storedEventsByStudent(admin, 'BURST', 8);
  for (const student of students) {
    const seqs = (stored.get(student) ?? []).map((event) => event.seq);
    t.equal(seqs.length, EVENTS_EACH, `${student}: every event stored`);
    t.same(seqs, [...ackedSeqs.get(student)!].sort((a, b) => a - b), `${student}: stored exactly the acked events, in order`);
  }
  const after = (await ux.api<StatusBody>('GET', '/api/status')).body;
  t.equal(after.connections.blocked, 0, 'no socket stays paused afterwards');
  t.equal(clients.reduce((total, client) => total + client.stats.nacked, 0), 0, 'nothing was refused');
});
