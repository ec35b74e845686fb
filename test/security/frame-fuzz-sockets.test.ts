// Tens of thousands of seeded hostile frames over real sockets to a running Untradex, several
// sockets at once, reconnecting after every close: each answer must be the one docs/PROTOCOL.md
// section 3 gives, exactly the accepted events are stored, no actor restarts, memory stays bounded.
// UX_FUZZ_SEED and UX_FUZZ_SOCKET_FRAMES change the run; UX_FUZZ_DEBUG=1 prints each mismatch at once.

import t from 'tap';
import { mintStudentToken } from '../../src/auth/student-token.js';
import { recordReliability } from '../helpers/reliability-record.js';
import { storedEventsByStudent } from '../helpers/stored-events.js';
import { startUntradexProcess } from '../helpers/untradex.js';
import { FrameGenerator, rng, type FuzzFrame } from './frame-generator.js';
import { FuzzConnection } from './fuzz-connection.js';
import { mib, residentBytes } from './process-memory.js';
import { applyAnswer, classifyFrame, describeAnswer, expectedAnswer, StudentModel, type Answer, type Verdict, type WireLimits } from './wire-oracle.js';

const SEED = Number(process.env.UX_FUZZ_SEED ?? 0x50c4e75);
const FRAMES = Number(process.env.UX_FUZZ_SOCKET_FRAMES ?? 20_000);
const SOCKETS = 12;
const BUCKETS = 8;
const EXAM = 'FUZZ';
const SECRET = 'fuzz-secret-of-the-socket-test-0123456789';
const LIMITS: WireLimits = { maxFrameBytes: 4096, maxValueBytes: 2048 };
/** Frames sent before the memory baseline is taken, so warm-up allocations do not count. */
const WARMUP = 3_000;
const RSS_GROWTH_LIMIT = 160 * 1024 * 1024;

// 20,000 frames take about 60 s on a quiet 2-core box and 150 s at a load average of 20 (npm test
// beside other work): tap's 180 s per file was the test's limit, not the server's.
t.setTimeout(Math.max(180_000, FRAMES * 20));

interface ActorReport {
  id: string;
  status: string;
  restarts: number;
}
interface Status {
  actors: ActorReport[];
  connections: { total: number; unwelcomed: number; rejectedUpgrades: number };
}

t.test(`${FRAMES} hostile frames over ${SOCKETS} sockets (seed ${SEED})`, async (t) => {
  const ux = await startUntradexProcess(t, {
    auth: { secret: SECRET },
    redis: { buckets: BUCKETS, appendfsync: 'everysec' },
    gateway: { connectionActors: 2, maxFrameBytes: LIMITS.maxFrameBytes, maxValueBytes: LIMITS.maxValueBytes },
  });
  const pid = ux.child.pid!;
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const models = new Map<string, StudentModel>();
  const outcomes = new Map<string, number>();
  const mismatches: string[] = [];
  let mismatchCount = 0;
  let sent = 0;
  let connections = 0;
  let rssBaseline = 0;
  let rssPeak = 0;
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

  async function runSlot(slot: number): Promise<void> {
    const seqRandom = rng(SEED * 31 + slot);
    let studentNumber = 0;
    let student = '';
    let model = new StudentModel();
    let valid = '';
    let tokens: string[] = [];
    const newStudent = () => {
      student = `F${slot}_${studentNumber++}`;
      model = new StudentModel();
      models.set(student, model);
      valid = mintStudentToken(SECRET, { exam: EXAM, student, expiresAt });
      const [, payload, sig] = valid.split('.') as [string, string, string];
      tokens = [
        valid,
        valid,
        valid,
        `v1.${payload}.${sig.slice(0, 5)}${sig[5] === 'A' ? 'B' : 'A'}${sig.slice(6)}`,
        mintStudentToken(SECRET, { exam: EXAM, student, expiresAt: Math.floor(Date.now() / 1000) - 1 }),
        mintStudentToken('not-the-secret-at-all-0123456789', { exam: EXAM, student, expiresAt }),
        `v1.${payload}`,
        '',
      ];
    };
    newStudent();
    const generator = new FrameGenerator(SEED + slot, {
      ...LIMITS,
      goodSeq: () => {
        const roll = seqRandom();
        if (roll < 0.1 && model.lastStored > 0) return 1 + Math.floor(seqRandom() * model.lastStored);
        if (roll < 0.12) return model.lastStored + 1 + Math.floor(seqRandom() * 1000);
        return model.lastStored + 1 + Math.floor(seqRandom() * 3);
      },
      tokens: () => tokens,
      // Fewer closing families than the pure fuzzer: each close costs a reconnect.
      weights: { event: 55, hello: 2, mutated_text: 7, mutated_bytes: 6, deep: 3, huge_number: 5, bad_id: 8, big_value: 8, oversize: 1, binary: 1, garbage: 2 },
    });

    while (sent < FRAMES) {
      if (model.submitted) newStudent();
      const connection = await FuzzConnection.open(ux.gatewayUrl);
      connections += 1;
      let phase: 'hello' | 'live' = 'hello';
      // Most connections start with a proper hello; the others with whatever the fuzzer makes.
      const opening = generator.random();
      let first: FuzzFrame | undefined =
        opening < 0.8
          ? { bytes: Buffer.from(JSON.stringify({ t: 'hello', token: valid })), binary: false, family: 'hello' }
          : opening < 0.9
            ? { bytes: Buffer.from(generator.hello()), binary: false, family: 'hello' }
            : generator.next();
      // In a fifth of the connections the frame after a valid hello is sent before the welcome:
      // it arrives while Redis grants the session, and must be answered as if it came after.
      const pipelineHello = generator.random() < 0.2;
      const inFlight: Array<{ frame: FuzzFrame; verdict: Verdict; expected: Answer; fragments: number; phase: 'hello' | 'live' }> = [];
      let stop = false;
      const fail = (entry: (typeof inFlight)[number], seen: string) => {
        if (process.env.UX_FUZZ_DEBUG) console.error('MISMATCH', entry.frame.family, entry.phase, entry.frame.bytes.toString().slice(0, 200), describeAnswer(entry.expected), seen, Date.now());
        mismatchCount += 1;
        if (mismatches.length < 10) {
          const { frame, fragments, phase: at } = entry;
          mismatches.push(`${frame.family} (${fragments} fragments, ${at}) ${frame.binary ? 'binary' : 'text'} ${frame.bytes.toString('base64').slice(0, 400)}: want ${describeAnswer(entry.expected)}, got ${seen}`);
        }
      };
      while (!stop && !connection.closed && sent < FRAMES) {
        const frame = first ?? generator.next();
        first = undefined;
        const verdict = classifyFrame(frame.bytes, frame.binary, LIMITS);
        const expected: Answer = expectedAnswer(verdict, phase, (token) => token === valid, model);
        const fragments = generator.random() < 0.1 ? 2 + generator.int(3) : 1;
        connection.send(frame.bytes, frame.binary, fragments);
        inFlight.push({ frame, verdict, expected, fragments, phase });
        sent += 1;
        if (sent === WARMUP) rssBaseline = residentBytes(pid);
        if (expected.kind === 'welcome') {
          phase = 'live';
          if (pipelineHello && sent < FRAMES) continue;
        }
        for (let index = 0; index < inFlight.length && !stop; index++) {
          const entry = inFlight[index]!;
          count(describeAnswer(entry.expected));
          const answer = await connection.answer(entry.expected);
          const after = inFlight[index + 1];
          if (!answer.ok && entry.expected.kind === 'welcome' && after?.verdict.kind === 'close' && after.verdict.rule !== 'json' && answer.seen === `close ${after.verdict.code}`) {
            // ws refuses an oversize, binary or invalid UTF-8 frame as it arrives, before the
            // welcome could be sent: the close is the whole answer to both frames.
            count(describeAnswer(after.expected));
            stop = true;
            break;
          }
          if (!answer.ok) {
            fail(entry, answer.seen);
            connection.terminate();
            stop = true;
            break;
          }
          if (entry.expected.kind === 'welcome' && (answer.welcome?.lastSeq !== model.lastStored || answer.welcome?.student !== student)) {
            fail(entry, `welcome ${JSON.stringify(answer.welcome)} (model lastSeq ${model.lastStored})`);
          }
          if (entry.expected.kind === 'ack') applyAnswer(entry.verdict, model);
          if (entry.expected.kind === 'close') stop = true;
        }
        inFlight.length = 0;
      }
      if (!connection.closed) connection.terminate();
      if (sent % 1000 < 20) rssPeak = Math.max(rssPeak, residentBytes(pid));
    }
  }

  const started = Date.now();
  await Promise.all(Array.from({ length: SOCKETS }, (_, slot) => runSlot(slot)));
  const seconds = (Date.now() - started) / 1000;
  const rssAfter = residentBytes(pid);
  rssPeak = Math.max(rssPeak, rssAfter);

  t.same(mismatches, [], `every frame got the answer section 3 gives (${mismatchCount} mismatches)`);
  t.comment(`${sent} frames, ${connections} connections in ${seconds.toFixed(1)} s; ${[...outcomes].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  for (const key of ['close 4400', 'close 1007', 'close 1009', 'close 4401', 'welcome', 'ack', 'nack bad_event', 'nack submitted']) {
    t.ok((outcomes.get(key) ?? 0) >= 20, `${key} reached ${outcomes.get(key) ?? 0} times`);
  }

  // Exactly what the model says was accepted is stored, byte for byte and in seq order.
  const stored = await storedEventsByStudent(ux.redis(), EXAM, BUCKETS);
  let wrongStudents = 0;
  let storedEvents = 0;
  for (const [student, model] of models) {
    const got = (stored.get(student) ?? []).map((event) => [event.seq, event.kind, event.question, event.value]);
    storedEvents += got.length;
    if (JSON.stringify(got) !== JSON.stringify(model.stored)) {
      wrongStudents += 1;
      if (wrongStudents <= 3) t.same(got, model.stored, `stored events of ${student}`);
    }
  }
  t.equal(wrongStudents, 0, `every student's stored events are exactly the accepted ones (${storedEvents} events, ${models.size} students)`);
  t.equal([...stored.keys()].filter((student) => !models.has(student)).length, 0, 'no events under any other student');

  // Nothing crashed, and every socket's place was given back.
  let status = (await ux.api<Status>('GET', '/api/status')).body;
  for (let attempt = 0; attempt < 50 && status.connections.total > 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    status = (await ux.api<Status>('GET', '/api/status')).body;
  }
  t.same(status.actors.filter((actor) => actor.status !== 'running' || actor.restarts !== 0), [], 'every actor is running and none restarted');
  t.equal(status.connections.total, 0, 'every closed socket was released');
  t.equal(status.connections.unwelcomed, 0, 'no socket is left waiting for its welcome');
  t.equal(status.connections.rejectedUpgrades, 0, 'no upgrade was refused');
  const growth = rssAfter - rssBaseline;
  t.ok(growth < RSS_GROWTH_LIMIT, `server RSS ${mib(rssBaseline)} after warm-up, ${mib(rssAfter)} at the end, peak ${mib(rssPeak)} (growth < ${mib(RSS_GROWTH_LIMIT)})`);

  recordReliability({
    kind: 'hostile',
    scenario: 'frames over real sockets',
    inputs: sent,
    outcome: [...outcomes].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${key}: ${n}`).join(', '),
    harmed: mismatchCount + wrongStudents,
    note: `seed ${SEED}; ${SOCKETS} sockets, ${connections} connections; server RSS ${mib(rssBaseline)} -> ${mib(rssAfter)}; 0 actor restarts`,
  });
});
