// log.traceExams: an operator asked "what happened to student S1?" finds that student's connection
// story (hello, welcome, events, acks, nacks, close) at info level, never a token or an answer's value.

import t from 'tap';
import { mintStudentToken } from '../../../src/auth/student-token.js';
import { logLines, type LogLine } from '../../helpers/log-lines.js';
import { helloRaw } from '../../helpers/raw-student.js';
import { startUntradexProcess } from '../../helpers/untradex.js';

const SECRET = 'story-secret-0123456789-abcdefghij';
const VALUE = 'an-answer-value-that-must-not-be-logged';

t.test('a traced exam tells each connection story; other exams stay quiet', async (t) => {
  const ux = await startUntradexProcess(t, { auth: { secret: SECRET }, log: { level: 'info', traceExams: ['TRACED'] } });
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const tracedToken = mintStudentToken(SECRET, { exam: 'TRACED', student: 'S1', expiresAt });
  const quietToken = mintStudentToken(SECRET, { exam: 'QUIET', student: 'S1', expiresAt });
  const expiredToken = mintStudentToken(SECRET, { exam: 'TRACED', student: 'S2', expiresAt: Math.floor(Date.now() / 1000) - 60 });

  for (const token of [tracedToken, quietToken]) {
    const { student, welcome } = await helloRaw(ux.gatewayUrl, token);
    t.equal(welcome.t, 'welcome');
    student.send({ t: 'ev', seq: 1, k: 'open' });
    student.send({ t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: VALUE });
    await student.next((frame) => frame.t === 'ack' && frame.seq === 2);
    student.send({ t: 'ev', seq: 3, k: 'submit' });
    await student.next((frame) => frame.t === 'ack' && frame.seq === 3);
    student.send({ t: 'ev', seq: 4, k: 'answer', q: 'Q1', v: 'after submit' });
    await student.next((frame) => frame.t === 'nack' && frame.seq === 4);
    student.ws.close(1000, 'done');
    await student.closed;
  }
  const { student: late, welcome: refused } = await helloRaw(ux.gatewayUrl, expiredToken);
  t.match(refused, { t: 'err', code: 'unauthorized' });
  await late.closed;

  const story = (student: string) => (lines: LogLine[]) => lines.filter((line) => line.exam === 'TRACED' && line.student === student);
  let lines: LogLine[] = [];
  for (let i = 0; i < 100; i++) {
    lines = logLines(ux.output());
    if (story('S1')(lines).some((line) => line.msg === 'socket closed') && story('S2')(lines).length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const s1 = story('S1')(lines);
  const messages = s1.map((line) => line.msg);
  for (const msg of ['hello: token valid, claiming the session', 'welcome', 'event received, on its way to Redis', 'ack: stored up to this seq', 'nack: the event will never be stored', 'socket closed']) {
    t.ok(messages.includes(msg), `S1's story has "${msg}"`);
  }
  t.ok(s1.every((line) => line.level === 30 && typeof line.address === 'string'), 'every line at info level, with the address');
  t.match(s1.find((line) => line.msg === 'welcome'), { lastSeq: 0, state: 'open' });
  t.same(s1.filter((line) => line.msg === 'event received, on its way to Redis').map((line) => [line.seq, line.kind, line.question]), [[1, 'open', null], [2, 'answer', 'Q1'], [3, 'submit', null], [4, 'answer', 'Q1']]);
  t.match(s1.find((line) => line.msg === 'nack: the event will never be stored'), { seq: 4, code: 'submitted' });
  t.match(s1.find((line) => line.msg === 'socket closed'), { code: 1000 });
  t.match(story('S2')(lines), [{ msg: 'hello refused: the token has expired; issue a new one', reason: 'expired' }], 'an expired token of the traced exam is named');
  t.same(lines.filter((line) => line.exam === 'QUIET' && line.student === 'S1'), [], 'an exam not traced logs nothing per student');
  const text = ux.output();
  t.notOk(text.includes(VALUE), 'no answer value in the log');
  t.notOk(text.includes(tracedToken.split('.')[2]!), 'no token in the log');
});
