// One live session per student (docs/PROTOCOL.md section 3, rule 3): a second hello for the same
// student replaces the first, which gets `err replaced` and close 4409, and whose late events are not stored.

import t from 'tap';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import { helloRaw } from '../../helpers/raw-student.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

t.test('a second connection of the same student replaces the first', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 4 }, gateway: { connectionActors: 2 } });
  const { S1: token } = await ux.tokens('REPL', ['S1']);

  const first = await helloRaw(ux.gatewayUrl, token!);
  t.match(first.welcome, { t: 'welcome', exam: 'REPL', student: 'S1', lastSeq: 0, state: 'open' });
  first.student.send({ t: 'ev', seq: 1, k: 'answer', q: 'Q1', v: 'from-first' });
  t.match(await first.student.next((frame) => frame.t === 'ack'), { seq: 1 }, 'the first session stores while it is the live one');

  const second = await helloRaw(ux.gatewayUrl, token!);
  t.match(second.welcome, { t: 'welcome', lastSeq: 1 }, 'the new session learns what is already stored');

  t.match(await first.student.next((frame) => frame.t === 'err'), { t: 'err', code: 'replaced' }, 'the old session is told');
  t.equal((await first.student.closed).code, 4409, 'and closed with 4409');

  second.student.send({ t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: 'from-second' });
  t.match(await second.student.next((frame) => frame.t === 'ack'), { seq: 2 });

  const stored = (await storedEventsByStudent(ux.redis(), 'REPL', 4)).get('S1') ?? [];
  t.same(stored.map((event) => [event.seq, event.value]), [[1, 'from-first'], [2, 'from-second']]);
  second.student.close();
});

t.test('events a replaced session still sends are not stored', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 4 }, gateway: { connectionActors: 1 } });
  const { S9: token } = await ux.tokens('REPL2', ['S9']);
  const first = await helloRaw(ux.gatewayUrl, token!);
  const second = await helloRaw(ux.gatewayUrl, token!);
  // Whatever the old socket manages to send before its close lands must not be stored.
  first.student.send({ t: 'ev', seq: 50, k: 'answer', q: 'Q1', v: 'stale' });
  await first.student.closed;
  second.student.send({ t: 'ev', seq: 1, k: 'open' });
  await second.student.next((frame) => frame.t === 'ack');
  const stored = (await storedEventsByStudent(ux.redis(), 'REPL2', 4)).get('S9') ?? [];
  t.same(stored.map((event) => event.seq), [1], 'only the live session stored anything');
  second.student.close();
});
