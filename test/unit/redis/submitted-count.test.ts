// `submitted` in the exam view is a per-bucket counter kept by ux_write: exactly once per student
// whose submit is stored, whatever is resent, refused or sent again after the submit.
import t from 'tap';
import { WriteOutcome } from '../../../src/events/answer-event.js';
import { answer, ev, storeFixture } from './store-fixture.js';

const { Stored, Duplicate, Submitted } = WriteOutcome;

t.test('a stored submit counts once; resends, later events and a second submit do not', async (t) => {
  const { store, bucket } = await storeFixture(t, 4);
  const s1 = await store.claimSession('SUB', 'S1');
  const b1 = bucket('SUB', 'S1');
  t.same(await store.writeBatch('SUB', b1, [answer('S1', s1.epoch, 1, 'Q1', 'a'), ev('S1', s1.epoch, 2, 'submit')]), [Stored, Stored]);
  t.equal((await store.examCounts('SUB')).submitted, 1);
  t.same(await store.writeBatch('SUB', b1, [ev('S1', s1.epoch, 2, 'submit')]), [Duplicate], 'the resent submit');
  t.same(await store.writeBatch('SUB', b1, [answer('S1', s1.epoch, 3, 'Q1', 'b'), ev('S1', s1.epoch, 4, 'submit')]), [Submitted, Submitted]);
  // A new session of the same student (another device) cannot submit again either.
  const again = await store.claimSession('SUB', 'S1');
  t.same(await store.writeBatch('SUB', b1, [ev('S1', again.epoch, 5, 'submit')]), [Submitted]);
  t.equal((await store.examCounts('SUB')).submitted, 1, 'still one submitted student');
});

t.test('submitted sums over buckets; two submits of one student in one call count once', async (t) => {
  const { store, bucket } = await storeFixture(t, 8);
  for (let s = 0; s < 30; s++) {
    const student = `S${s}`;
    const { epoch } = await store.claimSession('SUB2', student);
    const events = [ev(student, epoch, 1, 'open')];
    if (s % 3 === 0) events.push(ev(student, epoch, 2, 'submit'), ev(student, epoch, 3, 'submit'));
    await store.writeBatch('SUB2', bucket('SUB2', student), events);
  }
  const counts = await store.examCounts('SUB2');
  t.equal(counts.submitted, 10, 'every third student submitted, each counted once');
  t.equal(counts.students, 30);
  t.equal(counts.events, 30 + 10);
});
