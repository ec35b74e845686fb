// The client outbox: cumulative settling from the front, removal by seq anywhere, order kept
// across many pushes and the compaction of its backing array.

import t from 'tap';
import { Outbox, type OutboxEntry } from '../../../src/client/outbox.js';

function entry(seq: number): OutboxEntry {
  return { event: { seq, kind: 'open', question: null, value: null, clientTs: null, firstSentAt: null, settledAt: null, sends: 0 }, frame: `#${seq}` };
}

const seqs = (list: OutboxEntry[]): number[] => list.map((e) => e.event.seq);

t.test('settleUpTo removes every entry at or below the seq, in order', async (t) => {
  const box = new Outbox();
  for (const s of [2, 3, 5, 8]) box.push(entry(s));
  t.same(seqs(box.settleUpTo(1)), []);
  t.same(seqs(box.settleUpTo(4)), [2, 3]);
  t.same(seqs(box.pending()), [5, 8]);
  t.same(seqs(box.settleUpTo(100)), [5, 8]);
  t.equal(box.size, 0);
});

t.test('remove takes one seq out from anywhere', async (t) => {
  const box = new Outbox();
  for (let s = 1; s <= 9; s += 2) box.push(entry(s));
  t.equal(box.remove(4), undefined, 'absent seq');
  t.equal(box.remove(5)?.event.seq, 5);
  t.equal(box.remove(5), undefined, 'only once');
  t.equal(box.remove(1)?.event.seq, 1);
  t.equal(box.remove(9)?.event.seq, 9);
  t.same(seqs(box.pending()), [3, 7]);
});

t.test('order survives the compaction of the backing array', async (t) => {
  const box = new Outbox();
  for (let s = 1; s <= 3000; s++) box.push(entry(s));
  t.equal(box.settleUpTo(2000).length, 2000); // head past 1024 and past half: compacts
  t.equal(box.remove(2500)?.event.seq, 2500);
  box.push(entry(3001));
  const expected = Array.from({ length: 1001 }, (_, i) => 2001 + i).filter((s) => s !== 2500);
  t.same(seqs(box.pending()), expected);
  t.same(seqs(box.settleUpTo(2002)), [2001, 2002]);
  t.equal(box.size, expected.length - 2);
});

t.test('a seeded run of pushes, settles and removes matches a plain array model', async (t) => {
  const box = new Outbox();
  let model: number[] = [];
  let next = 1;
  let seed = 7;
  const random = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const problems: string[] = [];
  for (let round = 0; round < 50_000; round++) {
    const r = random();
    if (r < 0.7) {
      box.push(entry(next));
      model.push(next++);
    } else if (r < 0.8) {
      const upTo = next - 1 - Math.floor(random() * 50);
      const want = model.filter((s) => s <= upTo);
      model = model.filter((s) => s > upTo);
      const got = seqs(box.settleUpTo(upTo));
      if (got.join() !== want.join()) problems.push(`round ${round}: settleUpTo(${upTo}) gave ${got.join()}`);
    } else {
      const target = next - 1 - Math.floor(random() * 100);
      const held = model.includes(target);
      model = model.filter((s) => s !== target);
      const got = box.remove(target)?.event.seq;
      if (got !== (held ? target : undefined)) problems.push(`round ${round}: remove(${target}) gave ${got}`);
    }
  }
  t.same(problems.slice(0, 5), []);
  t.same(seqs(box.pending()), model);
  t.equal(box.size, model.length);
});
