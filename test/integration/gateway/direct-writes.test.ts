// writers.directInFlight: a quiet connection actor writes a lone event to Redis itself, with the
// same acks and the same exactly-once store as through a writer; a burst and a failing write go
// through the writers, and a student's events stay in order across both paths.

import t from 'tap';
import { injectFault } from '../../../src/actor-runtime/fault-injection.js';
import { bucketKeys, bucketOf } from '../../../src/redis/bucket-keys.js';
import { pollUntil } from '../../helpers/poll.js';
import { helloRaw, type RawStudent } from '../../helpers/raw-student.js';
import { storedEventsByStudent } from '../../helpers/stored-events.js';
import type { TeardownHost } from '../../helpers/redis-server.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

const BUCKETS = 16;
process.env.UX_FAULT_INJECTION = '1';

interface StatusBody {
  events: { forwarded: number; direct: number; stored: number; duplicates: number; badEvents: number };
  acks: { nacks: number };
}

/** The ack covering `seq`, or its nack (a raw student's next() looks at every frame it got so far). */
const ackOf = (seq: number) => (frame: Record<string, unknown>) => (frame.t === 'ack' && (frame.seq as number) >= seq) || (frame.t === 'nack' && frame.seq === seq);

const seqsUpTo = (last: number) => Array.from({ length: last }, (_, index) => index + 1);

/**
 * A student whose first event's direct write is held `holdMs` before it reaches Redis (the fault
 * point), and who sends `last - 1` more events meanwhile.
 */
async function sendBehindHeldWrite(ux: Awaited<ReturnType<typeof start>>, exam: string, last: number, holdMs = 300) {
  const tokens = await ux.tokens(exam, ['S1']);
  const { student } = await helloRaw(ux.gatewayUrl, tokens['S1']!);
  await injectFault(ux.app.root.connectionActors[0]!.api, { point: 'connection.directWrite', action: 'delay', delayMs: holdMs, nth: 1 });
  student.send({ t: 'ev', seq: 1, k: 'open' });
  for (let seq = 2; seq <= last; seq += 1) student.send({ t: 'ev', seq, k: 'answer', q: 'Q1', v: `${seq}` });
  return { student, token: tokens['S1']! };
}

/** Events in an FCALL of ux_write or ux_write_many as MONITOR shows it (src/redis/bucket-store.ts lays the arguments out). */
function eventsInWriteCall(args: readonly string[]): number {
  const keys = Number(args[2]);
  let at = 3 + keys;
  const groups = args[1] === 'ux_write_many' ? Number(args[at++]) : 1;
  let events = 0;
  for (let group = 0; group < groups; group += 1) {
    const count = Number(args[at + 1]);
    events += count;
    at += 2 + 8 * count;
  }
  return events;
}

async function start(t: TeardownHost, directInFlight: number) {
  return startUntradexInProcess(t, { redis: { buckets: BUCKETS }, gateway: { connectionActors: 1 }, writers: { count: 1, directInFlight } });
}

t.test('events sent one at a time are written by the connection actor itself, each acked and stored once', async (t) => {
  const ux = await start(t, 4);
  const tokens = await ux.tokens('DIRECT-LONE', ['S1']);
  const { student, welcome } = await helloRaw(ux.gatewayUrl, tokens['S1']!);
  t.match(welcome, { t: 'welcome', lastSeq: 0 });
  student.send({ t: 'ev', seq: 1, k: 'open' });
  t.match(await student.next(ackOf(1)), { t: 'ack', seq: 1 });
  for (let seq = 2; seq <= 20; seq += 1) {
    student.send({ t: 'ev', seq, k: 'answer', q: `Q${seq}`, v: `v${seq}` });
    t.match(await student.next(ackOf(seq)), { t: 'ack', seq }, `event ${seq} acked`);
  }
  // Sent again: answered as a duplicate, acked, not stored twice.
  const acksBefore = student.frames.length;
  student.send({ t: 'ev', seq: 5, k: 'answer', q: 'Q5', v: 'v5' });
  await student.next((frame) => student.frames.indexOf(frame) >= acksBefore);
  t.same(student.frames.slice(acksBefore), [{ t: 'ack', seq: 5 }], 'a resent event is acked again');

  const stored = await storedEventsByStudent(ux.redis(), 'DIRECT-LONE', BUCKETS);
  t.same(stored.get('S1')?.map((event) => event.seq), seqsUpTo(20), 'every seq stored once, in order');
  const status = (await ux.api<StatusBody>('GET', '/api/status')).body;
  t.equal(status.events.direct, 21, 'all 21 written by the connection actor');
  t.equal(status.events.forwarded, 0, 'none went through the rings');
  t.equal(status.events.stored, 20, 'stored counts them');
  t.equal(status.events.duplicates, 1, 'and the duplicate');
});

t.test('bursts from many students: some through the writer, every event acked and stored once in order', async (t) => {
  const ux = await start(t, 2);
  const names = Array.from({ length: 12 }, (_, index) => `B${index}`);
  const tokens = await ux.tokens('DIRECT-BURST', names);
  const students: RawStudent[] = [];
  for (const name of names) students.push((await helloRaw(ux.gatewayUrl, tokens[name]!)).student);
  const EACH = 150;
  for (let seq = 1; seq <= EACH; seq += 1) {
    for (const student of students) student.send(seq === 1 ? { t: 'ev', seq, k: 'open' } : { t: 'ev', seq, k: 'answer', q: `Q${seq % 7}`, v: `${seq}` });
  }
  for (const student of students) t.match(await student.next(ackOf(EACH), 30_000), { t: 'ack', seq: EACH });

  const stored = await storedEventsByStudent(ux.redis(), 'DIRECT-BURST', BUCKETS);
  const expected = seqsUpTo(EACH);
  for (const name of names) t.same(stored.get(name)?.map((event) => event.seq), expected, `${name}: every seq once, in order`);
  const status = (await ux.api<StatusBody>('GET', '/api/status')).body;
  t.equal(status.events.stored, names.length * EACH, 'stored counts every event once');
  t.ok(status.events.direct > 0, `some written by the connection actor (${status.events.direct})`);
  t.ok(status.events.forwarded > 0, `some through the writer, the actor being busy (${status.events.forwarded})`);
  t.equal(status.events.direct + status.events.forwarded, names.length * EACH, 'each event took one path');
});

t.test('events read while a direct write is on its way wait for it: none overtakes it through a writer', async (t) => {
  const ux = await start(t, 4);
  // Had the events behind the held write gone through the writer meanwhile, seq 1 would come after
  // them (and be taken for a duplicate, never stored).
  const { student } = await sendBehindHeldWrite(ux, 'DIRECT-ORDER', 40);
  t.match(await student.next(ackOf(40)), { t: 'ack', seq: 40 });
  t.notOk(student.frames.some((frame) => frame.t === 'nack'), 'no nack');
  const stored = await storedEventsByStudent(ux.redis(), 'DIRECT-ORDER', BUCKETS);
  t.same(stored.get('S1')?.map((event) => event.seq), seqsUpTo(40), 'every seq stored once, in order');
  const status = (await ux.api<StatusBody>('GET', '/api/status')).body;
  t.equal(status.events.direct, 40, 'the 39 that waited were written behind it by the actor, in one call');
});

t.test('a student whose events here reach the limit while Redis is slow is paused, as behind a full ring, and resumed after', async (t) => {
  const ux = await start(t, 4);
  const { student } = await sendBehindHeldWrite(ux, 'DIRECT-PAUSE', 40, 1500);
  // Unpaused, a client that keeps sending would pile its events up in the actor while Redis is slow.
  const paused = await pollUntil('the socket paused', () => ux.app.root.connectionActors[0]!.api.status(), (status) => status.blocked === 1, { intervalMs: 10 });
  t.equal(paused.blocked, 1, 'the student is paused while the actor holds 4 or more of its events');
  t.notOk(student.frames.some((frame) => frame.t === 'ack'), 'nothing acked while the write is held');
  t.match(await student.next(ackOf(40)), { t: 'ack', seq: 40 });
  const stored = await storedEventsByStudent(ux.redis(), 'DIRECT-PAUSE', BUCKETS);
  t.same(stored.get('S1')?.map((event) => event.seq), seqsUpTo(40), 'every seq stored once, in order');
  const after = await pollUntil('the socket resumed', () => ux.app.root.connectionActors[0]!.api.status(), (status) => status.blocked === 0, { intervalMs: 10 });
  t.equal(after.blocked, 0, 'resumed once its events were answered');
  student.send({ t: 'ev', seq: 41, k: 'answer', q: 'Q1', v: 'after' });
  t.match(await student.next(ackOf(41)), { t: 'ack', seq: 41 }, 'and it reads on');
});

t.test('what many students send while a direct write is on its way goes to Redis together, in one call', async (t) => {
  const ux = await start(t, 64);
  const names = Array.from({ length: 10 }, (_, index) => `M${index}`);
  const tokens = await ux.tokens('DIRECT-MERGE', names);
  const others: RawStudent[] = [];
  for (const name of names) others.push((await helloRaw(ux.gatewayUrl, tokens[name]!)).student);
  // Every write call Redis executes from now on, with the events it carries.
  const monitor = await ux.redis().monitor();
  t.teardown(() => monitor.disconnect());
  const calls: { fn: string; events: number }[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'fcall' && args[1]?.startsWith('ux_write')) calls.push({ fn: args[1], events: eventsInWriteCall(args) });
  });
  const { student } = await sendBehindHeldWrite(ux, 'DIRECT-MERGE', 1);
  // Read while the first call is held (or in the same turn as it): each is the first event of its
  // student, so none waits for an earlier one of its own; they wait for the actor's call on its way.
  for (const other of others) other.send({ t: 'ev', seq: 1, k: 'open' });
  t.match(await student.next(ackOf(1)), { t: 'ack', seq: 1 });
  for (const other of others) t.match(await other.next(ackOf(1)), { t: 'ack', seq: 1 });
  const stored = await storedEventsByStudent(ux.redis(), 'DIRECT-MERGE', BUCKETS);
  for (const name of ['S1', ...names]) t.same(stored.get(name)?.map((event) => event.seq), [1], `${name} stored once`);
  const status = (await ux.api<StatusBody>('GET', '/api/status')).body;
  t.equal(status.events.direct, 11, 'all 11 written by the connection actor');
  t.equal(status.events.forwarded, 0, 'none through the rings');
  await pollUntil('the 11 events in the calls MONITOR saw', async () => calls.reduce((sum, call) => sum + call.events, 0), (n) => n >= 11, { intervalMs: 20 });
  // S1's held call alone then the 10 others in one, or (when all 11 were read in the same turn as
  // S1's) one call for all: never a call per student.
  t.ok(calls.length <= 2, `11 events of 11 students in ${calls.length} call(s): ${JSON.stringify(calls)}`);
  t.equal(calls.at(-1)?.fn, 'ux_write_many', 'the students read behind it went in one call over their buckets');
});

t.test('a student on the actor\'s own writes whose next event comes while the rings are busy goes back to the writers, in order', async (t) => {
  // A limit of 1: S1's first event fills it, so S2's goes to the writer, whose answer is held.
  const ux = await start(t, 1);
  const tokens = await ux.tokens('DIRECT-LEAVE', ['S2']);
  const s2 = (await helloRaw(ux.gatewayUrl, tokens['S2']!)).student;
  const writer = ux.app.root.writerActors[0]!;
  await injectFault(writer.api, { point: 'writer.afterFcall', action: 'delay', delayMs: 1_500, nth: 1 });
  const { student } = await sendBehindHeldWrite(ux, 'DIRECT-LEAVE', 1, 1_000);
  s2.send({ t: 'ev', seq: 1, k: 'open' });
  // S2's event is in the ring (forwarded) and unanswered: the rings are busy while S1's call is held.
  await pollUntil('S2 forwarded', async () => (await ux.api<StatusBody>('GET', '/api/status')).body.events.forwarded, (n) => n >= 1, { intervalMs: 10 });
  student.send({ t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: 'behind' });
  t.match(await student.next(ackOf(2), 10_000), { t: 'ack', seq: 2 });
  t.match(await s2.next(ackOf(1), 10_000), { t: 'ack', seq: 1 });
  const stored = await storedEventsByStudent(ux.redis(), 'DIRECT-LEAVE', BUCKETS);
  t.same(stored.get('S1')?.map((event) => event.seq), [1, 2], 'S1: both stored once, in order');
  const status = (await ux.api<StatusBody>('GET', '/api/status')).body;
  t.equal(status.events.direct, 1, 'only S1\'s first went by the actor\'s own call');
  t.equal(status.events.forwarded, 2, 'S2\'s, and S1\'s second once its first was answered, through the writer');
});

t.test('events waiting behind a direct write are stored even when the socket closes first', async (t) => {
  const ux = await start(t, 4);
  const { student, token } = await sendBehindHeldWrite(ux, 'DIRECT-CLOSED', 10);
  // Gone before the first write reached Redis: as from a ring, what was read is still written.
  await new Promise((resolve) => setTimeout(resolve, 50));
  student.close();
  await student.closed;
  // No new hello before they land: a newer session's claim would fence them off (stale epoch), as it
  // would events still in a ring.
  const stored = await pollUntil('10 stored events', () => storedEventsByStudent(ux.redis(), 'DIRECT-CLOSED', BUCKETS), (byStudent) => (byStudent.get('S1')?.length ?? 0) >= 10, { intervalMs: 20 });
  t.same(stored.get('S1')?.map((event) => event.seq), seqsUpTo(10), 'every seq stored once, in order');
  const { welcome } = await helloRaw(ux.gatewayUrl, token);
  t.equal(welcome.lastSeq, 10, 'the next connection is told all 10 are stored');
});

t.test('a direct write that raises goes to the writer, which isolates the poison event; the student goes on', async (t) => {
  const ux = await start(t, 4);
  const redis = ux.redis();
  const tokens = await ux.tokens('DIRECT-POISON', ['VICTIM']);
  const { student } = await helloRaw(ux.gatewayUrl, tokens['VICTIM']!);
  student.send({ t: 'ev', seq: 1, k: 'open' });
  await student.next(ackOf(1));

  const seqKey = bucketKeys.seq('DIRECT-POISON', bucketOf('DIRECT-POISON', 'VICTIM', BUCKETS));
  const state = await redis.hget(seqKey, 'VICTIM');
  await redis.hset(seqKey, 'VICTIM', 'corrupted by the test');
  student.send({ t: 'ev', seq: 2, k: 'answer', q: 'Q1', v: 'poison' });
  t.same(await student.next(ackOf(2)), { t: 'nack', seq: 2, code: 'bad_event' }, 'nacked bad_event by the writer');

  await redis.hset(seqKey, 'VICTIM', state!);
  student.send({ t: 'ev', seq: 3, k: 'answer', q: 'Q1', v: 'after' });
  t.same(await student.next(ackOf(3)), { t: 'ack', seq: 3 }, 'the next event is acked');
  const stored = await storedEventsByStudent(redis, 'DIRECT-POISON', BUCKETS);
  t.same(stored.get('VICTIM')?.map((event) => [event.seq, event.value]), [[1, ''], [3, 'after']], 'the poison event never stored');
  const status = (await ux.api<StatusBody>('GET', '/api/status')).body;
  t.equal(status.events.badEvents, 1, 'the writer counted the bad event');
  t.equal(status.events.forwarded, 1, 'only the failed write went through the rings');
  t.equal(status.events.direct, 2, 'the others were written directly');
});

t.test('with writers.directInFlight 0 every event goes through the writers', async (t) => {
  const ux = await start(t, 0);
  const tokens = await ux.tokens('DIRECT-OFF', ['S1']);
  const { student } = await helloRaw(ux.gatewayUrl, tokens['S1']!);
  student.send({ t: 'ev', seq: 1, k: 'open' });
  await student.next(ackOf(1));
  const status = (await ux.api<StatusBody>('GET', '/api/status')).body;
  t.equal(status.events.direct, 0);
  t.equal(status.events.forwarded, 1);
});
