// The client's outbox on its own, without a link: write first, send second; acks count only for the
// connection they were sent on; a nack settles one event; a refusal pauses and shrinks the window; resume renumbers.

import t from 'tap';
import type { KeptEvent, StoreWrite } from '../../../src/client/core/kept-event.js';
import { Outbox, type OutboxOptions } from '../../../src/client/core/outbox.js';

class Rig {
  readonly writes: Array<{ id: number; write: StoreWrite }> = [];
  readonly kept: Array<{ id: number; seq: number | null }> = [];
  readonly outbox: Outbox;

  constructor(options: Partial<OutboxOptions> = {}) {
    this.outbox = new Outbox(
      { window: 4, resendDelay: (attempt) => 300 * 2 ** attempt, syncStorage: false, ...options },
      { persist: (id, write) => this.writes.push({ id, write: structuredClone(write) }), kept: (id, seq) => this.kept.push({ id, seq }) },
    );
  }

  persistAll(): void {
    for (const { id } of this.writes.splice(0)) this.outbox.persisted(id);
  }

  /** Numbers the outbox as a first welcome with nothing stored would, and confirms that write. */
  welcomed(): void {
    this.outbox.resume(0, { answers: new Map(), submitted: false });
    this.persistAll();
  }

  answer(question: string, value: string): { id: number; seq: number | null } {
    return this.outbox.add('answer', question, value, null);
  }
}

const seqs = (events: KeptEvent[]): Array<number | null> => events.map((e) => e.seq);

t.test('before the first welcome events are kept unnumbered and never sendable; the resume numbers them in order', async (t) => {
  const rig = new Rig();
  t.same(rig.answer('q1', 'a'), { id: 1, seq: null });
  t.same(rig.answer('q2', 'b'), { id: 2, seq: null });
  rig.persistAll();
  t.same(rig.kept, [{ id: 1, seq: null }, { id: 2, seq: null }]);
  t.same(rig.outbox.takeSendable(1, 0), [], 'an unnumbered event is not sent');
  t.same(rig.outbox.resume(0, null), [], 'nothing stored, nothing dropped');
  t.same(seqs(rig.outbox.takeSendable(1, 0)), [], 'the renumbering write is not persisted yet');
  rig.persistAll();
  t.same(seqs(rig.outbox.takeSendable(1, 0)), [1, 2]);
  t.same(rig.outbox.add('answer', 'q3', 'c', null), { id: 3, seq: 3 }, 'after a welcome a new event is numbered at once');
});

t.test('an event goes on the wire only once its write is persisted, and only within the window', async (t) => {
  const rig = new Rig({ window: 2 });
  rig.welcomed();
  for (const q of ['q1', 'q2', 'q3']) rig.answer(q, 'v');
  t.same(rig.outbox.takeSendable(1, 10), [], 'write first, send second');
  rig.persistAll();
  t.same(seqs(rig.outbox.takeSendable(1, 10)), [1, 2], 'the window holds two');
  t.ok(rig.outbox.awaiting);
  t.same(rig.outbox.takeSendable(1, 11), [], 'nothing more until an ack');
  t.same(seqs(rig.outbox.ack(1, 1).map((e) => e.event)), [1]);
  t.same(seqs(rig.outbox.takeSendable(1, 12)), [3]);
});

t.test('an ack settles only events sent on its connection, oldest first, and removes them from storage', async (t) => {
  const rig = new Rig();
  rig.welcomed();
  rig.answer('q1', 'a');
  rig.answer('q2', 'b');
  rig.persistAll();
  rig.outbox.takeSendable(1, 5);
  rig.outbox.resetWire(); // the connection dropped; the events were not resent yet
  t.same(rig.outbox.ack(2, 2), [], 'connection 2 never carried them');
  rig.outbox.takeSendable(2, 7);
  const settled = rig.outbox.ack(2, 2);
  t.same(seqs(settled.map((e) => e.event)), [1, 2]);
  t.same(settled.map((e) => [e.sends, e.firstSentAt]), [[2, 5], [2, 5]], 'sends counted over both connections; first send kept');
  t.same(rig.writes.at(-1)?.write.remove, [1, 2]);
  t.equal(rig.outbox.size, 0);
  t.same([...rig.outbox.answers], [['q1', 'a'], ['q2', 'b']], 'acked answers are known stored');
});

t.test('a nack settles the one event; `submitted` is remembered', async (t) => {
  const rig = new Rig();
  rig.welcomed();
  rig.answer('q1', 'a');
  rig.outbox.add('submit', null, null, null);
  rig.persistAll();
  rig.outbox.takeSendable(1, 0);
  t.equal(rig.outbox.nack(9, 'submitted', 1), null, 'a seq not on the wire');
  t.equal(rig.outbox.nack(2, 'submitted', 1)?.event.kind, 'submit');
  t.ok(rig.outbox.submitted);
  t.same(rig.outbox.pending.map((p) => p.seq), [1]);
});

t.test('a refusal pauses sending once per burst, halves the window and resends from the oldest when due', async (t) => {
  const rig = new Rig({ window: 4 });
  rig.welcomed();
  for (const q of ['q1', 'q2', 'q3', 'q4', 'q5', 'q6']) rig.answer(q, 'v');
  rig.persistAll();
  t.same(seqs(rig.outbox.takeSendable(1, 0)), [1, 2, 3, 4]);
  rig.outbox.refused(1_000);
  rig.outbox.refused(1_001);
  t.equal(rig.outbox.resendAt, 1_300, 'one pause for the burst, from the first refusal');
  t.equal(rig.outbox.windowSize, 2);
  t.same(seqs(rig.outbox.ack(2, 1).map((e) => e.event)), [1, 2], 'events stored before the refusal are still acked');
  t.same(rig.outbox.takeSendable(1, 1_100), [], 'nothing is sent during the pause, though the window has room');
  t.notOk(rig.outbox.resendDue(1_299));
  t.ok(rig.outbox.resendDue(1_300));
  t.same(seqs(rig.outbox.takeSendable(1, 1_300)), [3, 4, 5], 'from the oldest unacked, with the window the pause left');
  rig.outbox.refused(1_400);
  t.equal(rig.outbox.resendAt, 1_400 + 600, 'the next refusal in a row waits longer');
});

t.test('a failed first write drops the events it held and reports their ids', async (t) => {
  const rig = new Rig();
  rig.welcomed();
  rig.answer('q1', 'a');
  const failed = rig.writes.at(-1)!.id;
  t.same(rig.outbox.persistFailed(failed), [1]);
  t.equal(rig.outbox.size, 0);
  t.same(rig.kept, [], 'never reported kept');
});

t.test('with sync storage an event is kept as it is added', async (t) => {
  const rig = new Rig({ syncStorage: true });
  rig.outbox.add('open', null, null, null);
  t.same(rig.kept, [{ id: 1, seq: null }]);
});
