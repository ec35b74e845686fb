// The paged roster: every student with a stored event or a live presence appears exactly once over
// the pages, with their figures; students who only connected once are not listed; cursors are
// checked; a page reads only what it returns (plus the waves over empty buckets).
import t from 'tap';
import { parseRosterCursor, ExamRoster, type RosterEntry } from '../../../src/redis/exam-roster.js';
import { PresenceStore } from '../../../src/redis/presence-store.js';
import { answer, ev, SERVER_TS, storeFixture } from './store-fixture.js';

async function walk(roster: ExamRoster, exam: string, limit: number, now?: number): Promise<{ entries: RosterEntry[]; pages: number }> {
  const entries: RosterEntry[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const from = cursor === null ? undefined : parseRosterCursor(cursor, 8) ?? undefined;
    const page = await roster.page(exam, limit, from, now);
    t.ok(page.students.length <= limit, 'a page holds at most limit students');
    entries.push(...page.students);
    cursor = page.cursor;
    pages += 1;
  } while (cursor !== null && pages < 10_000);
  return { entries, pages };
}

t.test('every student appears exactly once over the pages, whatever the page size', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, 8);
  const students = Array.from({ length: 157 }, (_, i) => `S${String(i).padStart(3, '0')}`);
  for (const student of students) {
    const { epoch } = await store.claimSession('RO', student);
    const events = [ev(student, epoch, 1, 'open'), answer(student, epoch, 2, 'Q1', 'x')];
    if (student.endsWith('7')) events.push(ev(student, epoch, 3, 'submit'));
    await store.writeBatch('RO', bucket('RO', student), events);
  }
  const roster = new ExamRoster(redis, 8);
  for (const limit of [1, 7, 50, 157, 500]) {
    const { entries, pages } = await walk(roster, 'RO', limit);
    const names = entries.map((entry) => entry.student);
    t.equal(new Set(names).size, names.length, `limit ${limit}: no student twice`);
    t.same([...names].sort(), students, `limit ${limit}: every student, in ${pages} pages`);
  }
  const { entries } = await walk(roster, 'RO', 500);
  const s017 = entries.find((entry) => entry.student === 'S017');
  t.same(s017, { student: 'S017', connected: false, lastSeq: 3, events: 3, lastEventAt: SERVER_TS + 3, submitted: true, submittedAt: SERVER_TS + 3 });
  const s001 = entries.find((entry) => entry.student === 'S001');
  t.same(s001, { student: 'S001', connected: false, lastSeq: 2, events: 2, lastEventAt: SERVER_TS + 2, submitted: false, submittedAt: null });
});

t.test('connected students without events are listed; students who only came and went are not', async (t) => {
  const { store, redis, bucket } = await storeFixture(t, 8);
  const presence = new PresenceStore(redis, 60_000);
  const now = Date.now();
  const live = await store.claimSession('RC', 'LIVE');
  await store.claimSession('RC', 'GONE');
  const { epoch } = await store.claimSession('RC', 'WROTE');
  await store.writeBatch('RC', bucket('RC', 'WROTE'), [ev('WROTE', epoch, 1, 'open')]);
  await presence.apply({ exam: 'RC', bucket: bucket('RC', 'LIVE'), holder: 'H1', serial: 1, expiresAt: now + 10_000, join: [{ student: 'LIVE', epoch: live.epoch }], leave: [] }, now);
  await presence.apply({ exam: 'RC', bucket: bucket('RC', 'WROTE'), holder: 'H2', serial: 1, expiresAt: now + 10_000, join: [{ student: 'WROTE', epoch }], leave: [] }, now);
  const { entries } = await walk(new ExamRoster(redis, 8), 'RC', 2, now);
  t.same(
    entries.map((entry) => [entry.student, entry.connected, entry.events]).sort(),
    [['LIVE', true, 0], ['WROTE', true, 1]],
  );
  const later = await walk(new ExamRoster(redis, 8), 'RC', 2, now + 10_000);
  t.same(later.entries.map((entry) => [entry.student, entry.connected]), [['WROTE', false]], 'once the presence expired, only the student with events');
});

t.test('an exam without data has an empty roster', async (t) => {
  const { redis } = await storeFixture(t, 8);
  t.same(await new ExamRoster(redis, 8).page('NOBODY', 500), { students: [], cursor: null });
});

t.test('cursors: only what the server gives out parses', async (t) => {
  t.same(parseRosterCursor('3:S1', 8), { bucket: 3, after: 'S1' });
  t.same(parseRosterCursor('0:', 8), { bucket: 0, after: '' });
  for (const bad of ['', '8:S1', '-1:S1', 'x:S1', '3', '3:bad id', `3:${'x'.repeat(65)}`, '999999:S1']) {
    t.equal(parseRosterCursor(bad, 8), null, JSON.stringify(bad));
  }
});
