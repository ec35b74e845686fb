// The client core driven directly with a fake clock (docs/PROTOCOL.md sections 3 and 7): write first,
// send second; seqs never reused; the send window; paced resends; resume settlement; final states.

import t from 'tap';
import { ClientCore, type CoreOptions } from '../../../src/client/core/client-core.js';
import type { CoreNotice } from '../../../src/client/core/core-io.js';
import { EMPTY_META, type KeptState, type StoreWrite } from '../../../src/client/core/kept-event.js';
import { decodeClientFrame } from '../../../src/protocol/client-frame.js';
import { decodeServerFrame, encodeAck, encodeAnswers, encodeClosed, encodeErr, encodeNack, encodeWelcome, type StoredAnswer } from '../../../src/protocol/server-frame.js';

class Rig {
  now = 1_000;
  readonly sent: string[] = [];
  readonly writes: Array<{ id: number; write: StoreWrite }> = [];
  readonly notices: CoreNotice[] = [];
  connects = 0;
  disconnects: number[] = [];
  readonly core: ClientCore;

  constructor(options: Partial<CoreOptions> = {}) {
    this.core = new ClientCore(
      {
        token: 'tok',
        window: 4,
        reconnect: (attempt) => 100 * (attempt + 1),
        resendDelay: (attempt) => 300 * 2 ** attempt,
        welcomeTimeoutMs: 10_000,
        answersTimeoutMs: 2_000,
        silenceTimeoutMs: 30_000,
        resume: true,
        syncStorage: false,
        stopWhenExamClosed: true,
        ...options,
      },
      {
        connect: () => this.connects++,
        disconnect: (code) => this.disconnects.push(code),
        send: (text) => this.sent.push(text),
        persist: (id, write) => this.writes.push({ id, write: structuredClone(write) }),
        notify: (notice) => this.notices.push(notice),
      },
    );
  }

  /** Seqs of the ev frames sent so far (from `from` on). */
  seqs(from = 0): number[] {
    return this.sent.slice(from).flatMap((text) => {
      const frame = decodeClientFrame(text, { maxValueBytes: 4096 });
      return frame.type === 'event' ? [frame.seq] : [];
    });
  }

  persistAll(): void {
    for (const { id } of this.writes.splice(0)) this.core.persisted(id, this.now);
  }

  frame(text: string): void {
    this.core.frame(decodeServerFrame(text)!, this.now);
  }

  /** Opens a socket and completes hello, welcome and answers. */
  online(lastSeq: number, answers: Array<[string, StoredAnswer]> = [], submitted = false): void {
    this.core.socketOpened(this.now);
    this.frame(encodeWelcome({ exam: 'E1', student: 'S1', lastSeq, state: 'open', serverTime: 0 }));
    this.frame(encodeAnswers({ answers: new Map(answers), submitted }));
  }

  advance(ms: number): void {
    this.now += ms;
    this.core.tick(this.now);
  }

  statuses(): string[] {
    return this.notices.flatMap((n) => (n.type === 'status' ? [n.status] : []));
  }
}

const state = (events: KeptState['events'], meta: Partial<KeptState['meta']> = {}): KeptState => ({ events, meta: { ...structuredClone(EMPTY_META), ...meta } });

t.test('hello asks to resume; nothing is sent before the answers frame; status goes online', async (t) => {
  const rig = new Rig();
  rig.core.restore(state([]));
  rig.core.start(rig.now);
  t.equal(rig.connects, 1);
  t.equal(rig.core.status, 'connecting');
  rig.core.socketOpened(rig.now);
  t.same(JSON.parse(rig.sent[0]!), { t: 'hello', token: 'tok', resume: true });
  rig.frame(encodeWelcome({ exam: 'E1', student: 'S1', lastSeq: 0, state: 'open', serverTime: 0 }));
  t.equal(rig.core.status, 'connecting', 'not online before the answers frame');
  rig.frame(encodeAnswers({ answers: new Map(), submitted: false }));
  t.equal(rig.core.status, 'online');
});

t.test('write first, send second: an event goes out only once its write is persisted', async (t) => {
  const rig = new Rig();
  rig.core.restore(state([]));
  rig.core.start(rig.now);
  rig.online(0);
  rig.persistAll();
  const { seq } = rig.core.add('answer', 'Q1', 'A', 5, rig.now);
  t.equal(seq, 1);
  t.same(rig.seqs(), [], 'not sent while the write is pending');
  t.same(rig.writes.at(-1)!.write.put.map((e) => e.seq), [1], 'the write holds the event with its seq');
  t.equal(rig.writes.at(-1)!.write.meta!.highestSeq, 1, 'and the highest seq assigned, in the same write');
  rig.persistAll();
  t.same(rig.seqs(), [1]);
  t.ok(rig.notices.some((n) => n.type === 'kept' && n.seq === 1), 'kept is announced');
});

t.test('a device never welcomed assigns no seq; the first welcome numbers its events above lastSeq', async (t) => {
  const rig = new Rig({ syncStorage: true });
  rig.core.restore(state([]));
  t.equal(rig.core.add('open', null, null, 1, rig.now).seq, null);
  t.equal(rig.core.add('answer', 'Q1', 'A', 2, rig.now).seq, null);
  rig.core.start(rig.now);
  rig.online(41);
  t.same(rig.seqs(), [42, 43], 'numbered above what another device may have stored');
  t.same(rig.core.pending.map((p) => p.seq), [42, 43]);
  t.equal(rig.core.add('answer', 'Q1', 'B', 3, rig.now).seq, 44);
});

t.test('a seq is never used twice across a reload: the highest ever assigned is kept', async (t) => {
  const rig = new Rig({ syncStorage: true });
  rig.core.restore(state([]));
  rig.core.start(rig.now);
  rig.online(0);
  for (let i = 0; i < 3; i++) rig.core.add('answer', `Q${i}`, 'x', 1, rig.now);
  rig.frame(encodeAck(3));
  const meta = rig.writes.at(-1)!.write.meta!;
  t.equal(meta.highestSeq, 3);
  // The reload finds an empty outbox but the meta: offline, the next event is 4, not 1.
  const reloaded = new Rig({ syncStorage: true });
  reloaded.core.restore(state([], meta));
  t.equal(reloaded.core.add('answer', 'Q9', 'y', 1, reloaded.now).seq, 4);
  t.same([...reloaded.core.answers], [['Q0', 'x'], ['Q1', 'x'], ['Q2', 'x'], ['Q9', 'y']], 'acked answers are remembered with the meta');
});

t.test('at most a window of unacked events is on the wire; acks open it again', async (t) => {
  const rig = new Rig({ syncStorage: true, window: 4 });
  rig.core.restore(state([]));
  rig.core.start(rig.now);
  rig.online(0);
  for (let i = 0; i < 10; i++) rig.core.add('answer', 'Q1', String(i), 1, rig.now);
  t.same(rig.seqs(), [1, 2, 3, 4]);
  rig.frame(encodeAck(2));
  t.same(rig.seqs(), [1, 2, 3, 4, 5, 6]);
  rig.frame(encodeNack(3, 'bad_event'));
  t.same(rig.seqs(), [1, 2, 3, 4, 5, 6, 7]);
  t.equal(rig.core.pendingCount, 7);
});

t.test('rate_limited: one pause for a burst of refusals, a smaller window, then a resend from the oldest unacked', async (t) => {
  const rig = new Rig({ syncStorage: true, window: 8 });
  rig.core.restore(state([]));
  rig.core.start(rig.now);
  rig.online(0);
  for (let i = 0; i < 20; i++) rig.core.add('answer', 'Q1', String(i), 1, rig.now);
  t.same(rig.seqs(), [1, 2, 3, 4, 5, 6, 7, 8]);
  rig.frame(encodeAck(2));
  rig.frame(encodeErr('rate_limited', 'slow down'));
  rig.frame(encodeErr('rate_limited', 'slow down'));
  const before = rig.sent.length;
  rig.core.persisted(0, rig.now);
  t.same(rig.seqs(before), [], 'nothing is sent during the pause');
  rig.frame(encodeAck(4)); // acks of what was stored before the refusal still arrive
  t.same(rig.seqs(before), [], 'not even when acks free the window');
  rig.frame(encodeErr('rate_limited', 'late'));
  rig.advance(299);
  t.same(rig.seqs(before), [], 'the pause lasts the resend delay');
  rig.advance(1);
  t.same(rig.seqs(before), [5, 6, 7, 8], 'resent from the oldest unacked, with the window halved');
  rig.frame(encodeErr('rate_limited', 'again'));
  rig.advance(599);
  t.same(rig.seqs(before), [5, 6, 7, 8], 'a second refusal in a row doubles the pause');
  rig.advance(1);
  t.same(rig.seqs(before), [5, 6, 7, 8, 5, 6], 'and halves the window again');
});

t.test('resume settles kept events against the answers frame (section 7, rule 2)', async (t) => {
  const rig = new Rig({ syncStorage: true });
  rig.core.restore(
    state(
      [
        { id: 1, seq: 5, kind: 'open', question: null, value: null, clientTs: 1 },
        { id: 2, seq: 6, kind: 'answer', question: 'Q1', value: 'A', clientTs: 1 }, // stored as is
        { id: 3, seq: 7, kind: 'answer', question: 'Q2', value: 'B', clientTs: 1 }, // superseded by seq 9
        { id: 4, seq: 8, kind: 'answer', question: 'Q3', value: 'C', clientTs: 1 }, // seq 8 used by another device
        { id: 5, seq: 11, kind: 'answer', question: 'Q3', value: 'D', clientTs: 1 }, // above lastSeq: after the renumbered one
        { id: 6, seq: 12, kind: 'submit', question: null, value: null, clientTs: 1 },
      ],
      { highestSeq: 12, welcomed: true, nextId: 7 },
    ),
  );
  rig.core.start(rig.now);
  rig.online(10, [['Q1', { v: 'A', seq: 6 }], ['Q2', { v: 'other device', seq: 9 }], ['Q4', { v: 'elsewhere', seq: 10 }]]);
  const settled = rig.notices.flatMap((n) => (n.type === 'settled' ? [[n.settled.seq, n.settled.result, n.settled.code]] : []));
  t.same(settled, [[5, 'ack', null], [6, 'ack', null], [7, 'nack', 'superseded']]);
  t.same(
    rig.core.pending.map((p) => [p.seq, p.kind, p.value]),
    [[13, 'answer', 'C'], [14, 'answer', 'D'], [15, 'submit', null]],
    'the reused seq and everything after it get new seqs above everything, in their order',
  );
  t.same(rig.seqs(), [13, 14, 15]);
  t.same([...rig.core.answers], [['Q1', 'A'], ['Q2', 'other device'], ['Q4', 'elsewhere'], ['Q3', 'D']], 'stored answers overlaid with kept ones');
});

t.test('a kept submit at or below lastSeq is dropped when submitted, renumbered otherwise', async (t) => {
  for (const submitted of [true, false]) {
    const rig = new Rig({ syncStorage: true });
    rig.core.restore(state([{ id: 1, seq: 3, kind: 'submit', question: null, value: null, clientTs: 1 }], { highestSeq: 3, welcomed: true, nextId: 2 }));
    rig.core.start(rig.now);
    rig.online(4, [], submitted);
    t.same(rig.seqs(), submitted ? [] : [5], submitted ? 'submitted: dropped' : 'not submitted: sent again as seq 5');
  }
});

t.test('replaced and unauthorized are final: no reconnect, no new events', async (t) => {
  for (const [how, status] of [['err replaced', 'replaced'], ['close 4409', 'replaced'], ['err unauthorized', 'unauthorized'], ['close 4401', 'unauthorized']] as const) {
    const rig = new Rig({ syncStorage: true });
    rig.core.restore(state([]));
    rig.core.start(rig.now);
    rig.online(0);
    if (how === 'err replaced') rig.frame(encodeErr('replaced', 'x'));
    else if (how === 'err unauthorized') rig.frame(encodeErr('unauthorized', 'x'));
    else rig.core.socketClosed(how === 'close 4409' ? 4409 : 4401, '', rig.now);
    t.equal(rig.core.status, status, how);
    rig.advance(60_000);
    t.equal(rig.connects, 1, `${how}: no reconnect`);
    t.throws(() => rig.core.add('answer', 'Q1', 'A', 1, rig.now), { code: 'UX_ERR_CLIENT', reason: status });
  }
});

t.test('a lost connection goes offline and reconnects with backoff; kept events are resent', async (t) => {
  const rig = new Rig({ syncStorage: true });
  rig.core.restore(state([]));
  rig.core.start(rig.now);
  rig.online(0);
  rig.core.add('answer', 'Q1', 'A', 1, rig.now);
  rig.core.socketClosed(1006, '', rig.now);
  t.equal(rig.core.status, 'offline');
  rig.core.add('answer', 'Q2', 'B', 1, rig.now); // offline: kept, numbered (this device was welcomed)
  rig.advance(99);
  t.equal(rig.connects, 1);
  rig.advance(1);
  t.equal(rig.connects, 2, 'reconnects after the backoff');
  const before = rig.sent.length;
  rig.online(0);
  t.same(rig.seqs(before), [1, 2], 'both kept events go out on the new connection');
  t.equal(rig.core.status, 'online');
});

t.test('a server that never sends answers: the client goes on after answersTimeoutMs', async (t) => {
  const rig = new Rig({ syncStorage: true });
  rig.core.restore(state([{ id: 1, seq: 2, kind: 'answer', question: 'Q1', value: 'A', clientTs: 1 }], { highestSeq: 2, welcomed: true, nextId: 2 }));
  rig.core.start(rig.now);
  rig.core.socketOpened(rig.now);
  rig.frame(encodeWelcome({ exam: 'E1', student: 'S1', lastSeq: 1, state: 'open', serverTime: 0 }));
  rig.advance(2_000);
  t.equal(rig.core.status, 'online');
  t.same(rig.seqs(), [2]);
});

t.test('a connection that stays silent with events awaiting acks is replaced', async (t) => {
  const rig = new Rig({ syncStorage: true });
  rig.core.restore(state([]));
  rig.core.start(rig.now);
  rig.online(0);
  rig.core.add('answer', 'Q1', 'A', 1, rig.now);
  rig.advance(29_999);
  t.same(rig.disconnects, []);
  rig.advance(1);
  t.same(rig.disconnects, [4000], 'closed as dead');
  t.equal(rig.core.status, 'offline');
});

t.test('closed: the client settles what it keeps, then stops with status closed', async (t) => {
  const rig = new Rig({ syncStorage: true });
  rig.core.restore(state([]));
  rig.core.start(rig.now);
  rig.online(0);
  rig.core.add('answer', 'Q1', 'A', 1, rig.now);
  rig.frame(encodeClosed());
  t.equal(rig.core.status, 'online', 'still settling');
  t.throws(() => rig.core.add('answer', 'Q1', 'B', 1, rig.now), { code: 'UX_ERR_CLIENT', reason: 'exam_closed' });
  rig.frame(encodeNack(1, 'exam_closed'));
  t.equal(rig.core.status, 'closed');
  t.same(rig.disconnects, [1000]);
});

t.test('a storage taken over by another tab makes this client replaced', async (t) => {
  const rig = new Rig();
  rig.core.restore(state([]));
  rig.core.start(rig.now);
  rig.online(0);
  rig.persistAll();
  rig.core.add('answer', 'Q1', 'A', 1, rig.now);
  const { id } = rig.writes.at(-1)!;
  rig.core.persistFailed(id, new Error('superseded'), true, rig.now);
  t.equal(rig.core.status, 'replaced');
  t.ok(rig.notices.some((n) => n.type === 'keptFailed'), 'the answer that was not kept is reported');
  t.same(rig.seqs(), [], 'and never sent');
});
