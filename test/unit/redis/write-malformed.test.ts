// ux_write checks the whole batch first: a malformed field fails the call with a script error
// and stores nothing of it, not even the good events before it.
import t from 'tap';
import { MAX_CLIENT_TS, MAX_SEQ, WriteOutcome, type EventKind } from '../../../src/events/answer-event.js';
import type { EventToWrite } from '../../../src/redis/bucket-store.js';
import { answer, ev, storeFixture } from './store-fixture.js';

const malformed: Array<[string, EventToWrite]> = [
  ['student id with a bar', answer('S|1', 1, 2, 'Q1', 'x')],
  ['empty student id', answer('', 1, 2, 'Q1', 'x')],
  ['student id of 65 chars', answer('S'.repeat(65), 1, 2, 'Q1', 'x')],
  ['seq 0', answer('S1', 1, 0, 'Q1', 'x')],
  ['seq above 2^53-1', answer('S1', 1, MAX_SEQ + 1, 'Q1', 'x')],
  ['fractional seq', answer('S1', 1, 2.5, 'Q1', 'x')],
  ['negative seq', answer('S1', 1, -2, 'Q1', 'x')],
  ['epoch 0', answer('S1', 0, 2, 'Q1', 'x')],
  ['unknown kind', { ...ev('S1', 1, 2, 'open'), kind: 'peek' as EventKind }],
  ['answer without question', ev('S1', 1, 2, 'answer', null, 'x')],
  ['question id with a space', answer('S1', 1, 2, 'Q 1', 'x')],
  ['open with a question', ev('S1', 1, 2, 'open', 'Q1', null)],
  ['submit with a value', ev('S1', 1, 2, 'submit', null, 'x')],
  ['value with NUL', answer('S1', 1, 2, 'Q1', 'a\u0000b')],
  ['negative clientTs', { ...answer('S1', 1, 2, 'Q1', 'x'), clientTs: -1 }],
  ['clientTs after year 9999', { ...answer('S1', 1, 2, 'Q1', 'x'), clientTs: MAX_CLIENT_TS + 1 }],
  ['fractional serverTs', { ...answer('S1', 1, 2, 'Q1', 'x'), serverTs: 1.5 }],
];

t.test('each malformed field fails the call and stores nothing', async (t) => {
  const { store, bucket } = await storeFixture(t, 1);
  const b = bucket('E1', 'S1');
  const good = answer('GOOD', 1, 1, 'Q1', 'kept?');
  for (const [name, bad] of malformed) {
    await t.rejects(store.writeBatch('E1', b, [good, bad]), { code: 'UX_ERR_REDIS_SCRIPT' }, name);
  }
  t.same(await store.examCounts('E1'), { students: 0, events: 0, closedBuckets: 0, submitted: 0, connected: 0 });
  t.equal((await store.claimSession('E1', 'GOOD')).lastSeq, 0);
});

t.test('the bounds themselves are accepted', async (t) => {
  const { store, bucket } = await storeFixture(t, 1);
  const b = bucket('E1', 'S1');
  const id64 = 'a'.repeat(64);
  const edge: EventToWrite[] = [
    { ...answer(id64, 1, 1, id64, ''), clientTs: 0, serverTs: 0 },
    { ...answer('S1', 1, MAX_SEQ, 'Q-1_.x', 'v'), clientTs: MAX_CLIENT_TS, serverTs: MAX_CLIENT_TS },
  ];
  t.same(await store.writeBatch('E1', b, edge), [WriteOutcome.Stored, WriteOutcome.Stored]);
  const claim = await store.claimSession('E1', 'S1');
  t.equal(claim.lastSeq, MAX_SEQ, 'lastSeq 2^53-1 comes back exact');
  const again = { ...answer('S1', claim.epoch, MAX_SEQ, 'Q1', 'again'), clientTs: null, serverTs: 1 };
  t.same(await store.writeBatch('E1', b, [again]), [WriteOutcome.Duplicate]);
});

t.test('an exam id that is not an id fails', async (t) => {
  const { store } = await storeFixture(t, 1);
  await t.rejects(store.writeBatch('bad exam', 0, [answer('S1', 1, 1, 'Q1', 'x')]), { code: 'UX_ERR_REDIS_SCRIPT' });
  await t.rejects(store.claimSession('bad exam', 'S1'), { code: 'UX_ERR_REDIS_SCRIPT' });
});
