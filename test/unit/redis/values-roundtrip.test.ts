// Answer values come back from Redis byte for byte, whatever they hold: the packing puts the
// value last, so separators inside it cannot shift the other fields.
import t from 'tap';
import type { AnswerRow, EventRow } from '../../../src/events/result-rows.js';
import { BucketReader } from '../../../src/redis/bucket-reader.js';
import { answer, ev, SERVER_TS, storeFixture } from './store-fixture.js';

const VALUES: string[] = [
  'B',
  '', // clears the answer: the row stays, empty
  'a|b|c',
  '1,2,3,|x|,',
  '7,,1764400000000,whatever', // looks like a packed answer itself
  "it's \"quoted\" and `ticked`",
  'emoji 😀👩‍👩‍👧 and é (e + combining: é)',
  'line one\nline two\r\nline three\ttabbed',
  "'; DROP TABLE ux_answers; --",
  'back\\slash \\n not a newline',
  '   spaces around   ',
  '\u2028\u2029 separators, \ufeff BOM',
  'x'.repeat(2048),
  '€'.repeat(682), // 2046 bytes of 3-byte UTF-8
];

async function collect<T>(chunks: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const chunk of chunks) all.push(...chunk);
  return all;
}

t.test('values round-trip exactly through the answer hash and the log', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, 1);
  const b = bucket('E1', 'S1');
  const { epoch } = await store.claimSession('E1', 'S1');
  const events = [ev('S1', epoch, 1, 'open', null, null, 1764400000000)];
  VALUES.forEach((v, i) => events.push(answer('S1', epoch, i + 2, `Q${i}`, v)));
  events.push(ev('S1', epoch, VALUES.length + 2, 'submit'));
  t.same(await store.writeBatch('E1', b, events), events.map(() => 0));

  const reader = new BucketReader(redis, 'E1', b, 5);
  const answers = (await collect(reader.answers())).sort((x, y) => x.seq - y.seq);
  t.equal(answers.length, VALUES.length);
  VALUES.forEach((v, i) => {
    const row = answers[i] as AnswerRow;
    t.same(row, {
      examId: 'E1',
      studentId: 'S1',
      questionId: `Q${i}`,
      value: v,
      seq: i + 2,
      answeredAt: 1764400000000 + i + 2,
      receivedAt: SERVER_TS + i + 2,
    });
    t.ok(Buffer.from(row.value, 'utf8').equals(Buffer.from(v, 'utf8')), `value ${i} byte for byte`);
  });

  const logged = await collect(reader.events());
  t.equal(logged.length, events.length);
  t.same(logged[0], {
    examId: 'E1',
    studentId: 'S1',
    seq: 1,
    kind: 'open',
    questionId: null,
    value: null,
    clientTs: 1764400000000,
    serverTs: SERVER_TS + 1,
  } satisfies EventRow);
  VALUES.forEach((v, i) => {
    const row = logged[i + 1] as EventRow;
    t.equal(row.kind, 'answer');
    t.equal(row.questionId, `Q${i}`);
    t.ok(row.value !== null && Buffer.from(row.value, 'utf8').equals(Buffer.from(v, 'utf8')), `logged value ${i}`);
  });
  const submit = logged[logged.length - 1] as EventRow;
  t.same([submit.kind, submit.questionId, submit.value, submit.clientTs], ['submit', null, null, null]);

  t.same(await collect(reader.submissions()), [
    { examId: 'E1', studentId: 'S1', submittedAt: SERVER_TS + VALUES.length + 2, lastSeq: VALUES.length + 2 },
  ]);
});

t.test('the answer hash keeps the last answer per question; clearing leaves an empty row', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, 1);
  const b = bucket('E1', 'S1');
  const { epoch } = await store.claimSession('E1', 'S1');
  await store.writeBatch('E1', b, [answer('S1', epoch, 1, 'Q1', 'A'), answer('S1', epoch, 2, 'Q2', 'B')]);
  await store.writeBatch('E1', b, [answer('S1', epoch, 3, 'Q1', 'C'), answer('S1', epoch, 4, 'Q2', '')]);
  const rows = (await collect(new BucketReader(redis, 'E1', b, 100).answers())).sort((x, y) => x.seq - y.seq);
  t.same(
    rows.map((r) => [r.questionId, r.value, r.seq]),
    [
      ['Q1', 'C', 3],
      ['Q2', '', 4],
    ],
  );
  t.equal((await collect(new BucketReader(redis, 'E1', b, 100).events())).length, 4, 'the log keeps all four');
});
