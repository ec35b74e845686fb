// Event floods (docs/PROTOCOL.md section 3): past the per-connection rate a socket gets `err
// rate_limited` and, when the abuse goes on, close 4429; nothing past the first refusal is stored;
// flooders do not starve a polite student; bad events count against the same limit.

import t from 'tap';
import { MAX_SEND_WINDOW } from '../../src/protocol/send-window.js';
import { recordReliability } from '../helpers/reliability-record.js';
import { helloRaw, type RawStudent } from '../helpers/raw-student.js';
import { storedEventsByStudent } from '../helpers/stored-events.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

const BUCKETS = 4;
const RATE = { eventsPerSecond: 50, burst: 20, abuseStrikes: 5 };
const FLOOD = 2_000;

const highestAck = (socket: RawStudent) => Math.max(0, ...socket.frames.filter((frame) => frame.t === 'ack').map((frame) => frame.seq as number));

t.test('event floods', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: BUCKETS }, gateway: { connectionActors: 2, rateLimit: RATE } });
  const students = Array.from({ length: 12 }, (_, i) => `S${i}`);
  const tokens = await ux.tokens('FLOOD', students);
  const outcomes = new Map<string, number>();
  const tally = (key: string, n = 1) => outcomes.set(key, (outcomes.get(key) ?? 0) + n);

  t.test('a sustained flood gets err rate_limited, then close 4429; nothing past the first refusal is stored', async (t) => {
    const { student } = await helloRaw(ux.gatewayUrl, tokens.S0!);
    for (let seq = 1; seq <= FLOOD; seq++) student.send({ t: 'ev', seq, k: 'answer', q: 'Q1', v: `v${seq}` });
    const { code } = await student.closed;
    t.equal(code, 4429, 'closed with 4429');
    const errors = student.frames.filter((frame) => frame.t === 'err');
    t.ok(errors.length >= 1 && errors.every((frame) => frame.code === 'rate_limited'), `told rate_limited (${errors.length} times) before the close`);
    // The events a client's send window may hold behind the refusal are refused without a strike.
    t.ok(errors.length <= 1 + MAX_SEND_WINDOW + RATE.abuseStrikes, `closed after the window plus abuseStrikes refusals in a row (${errors.length} errs)`);
    // The burst was accepted and goes on to Redis; its acks may be cut off by the close (the
    // client resends and is acked as duplicates). Nothing past the first refusal may be stored.
    const stored = async () => ((await storedEventsByStudent(ux.redis(), 'FLOOD', BUCKETS)).get('S0') ?? []).map((event) => event.seq);
    for (let i = 0; i < 100 && (await stored()).length < RATE.burst; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    // The bucket refills while the flood is read (50/s), so a slow server may pass a few more.
    const kept = await stored();
    t.same(kept, Array.from({ length: kept.length }, (_, i) => i + 1), `stored: seqs 1 to ${kept.length} and nothing after the first refusal`);
    t.ok(kept.length >= RATE.burst && kept.length < RATE.burst + 10, 'that is the burst, give or take the refill');
    const acked = highestAck(student);
    t.ok(acked <= RATE.burst, `every ack (up to ${acked}) covers stored events only`);
    tally('close 4429');
    tally('err rate_limited', errors.length);
    tally('stored (the burst)', kept.length);
  });

  t.test('ten flooders at once do not starve a polite student', async (t) => {
    const flooders = await Promise.all(students.slice(1, 11).map(async (student) => (await helloRaw(ux.gatewayUrl, tokens[student]!)).student));
    const polite = (await helloRaw(ux.gatewayUrl, tokens.S11!)).student;
    flooders.forEach((socket) => {
      for (let seq = 1; seq <= FLOOD; seq++) socket.send({ t: 'ev', seq, k: 'open' });
    });
    for (let seq = 1; seq <= 20; seq++) {
      polite.send({ t: 'ev', seq, k: 'answer', q: 'Q1', v: `polite ${seq}` });
      await polite.next((frame) => frame.t === 'ack' && frame.seq === seq);
      await new Promise((resolve) => setTimeout(resolve, 1000 / (RATE.eventsPerSecond / 2)));
    }
    t.same(polite.frames.filter((frame) => frame.t === 'ack').map((frame) => frame.seq), Array.from({ length: 20 }, (_, i) => i + 1), 'the polite student got every one of its 20 acks, in order');
    t.notOk(polite.frames.some((frame) => frame.t === 'err'), 'and was never rate limited');
    const codes = await Promise.all(flooders.map((socket) => socket.closed));
    t.same(codes.map((close) => close.code), flooders.map(() => 4429), 'every flooder was closed with 4429');
    polite.close();
    tally('close 4429', flooders.length);
  });

  t.test('bad events count against the limit too', async (t) => {
    const { student } = await helloRaw(ux.gatewayUrl, tokens.S0!);
    // Never stored, but each costs a decode and a nack: unmetered, a client could make the
    // server queue nacks without end by not reading them.
    for (let seq = 1; seq <= FLOOD; seq++) student.send({ t: 'ev', seq: 10_000 + seq, k: 'cheat' });
    const { code } = await student.closed;
    t.equal(code, 4429, 'closed with 4429');
    const nacks = student.frames.filter((frame) => frame.t === 'nack').length;
    t.ok(nacks <= RATE.burst + 5, `answered ${nacks} of ${FLOOD} before the close`);
    t.ok(student.frames.every((frame) => frame.t !== 'nack' || frame.code === 'bad_event'), 'the ones answered got nack bad_event');
    tally('close 4429');
    tally('nack bad_event', nacks);
  });

  t.test('record', async () => {
    recordReliability({
      kind: 'hostile',
      scenario: 'event floods (12 sockets)',
      inputs: FLOOD * 12 + 20,
      outcome: [...outcomes].map(([key, n]) => `${key}: ${n}`).join(', '),
      harmed: 0,
      note: `rate ${RATE.eventsPerSecond}/s, burst ${RATE.burst}, abuse after a ${MAX_SEND_WINDOW}-event send window plus ${RATE.abuseStrikes} refusals in a row; stored = acked`,
    });
  });
});
