// The Oracle sink against a recording fake of node-oracledb: DDL, bind definitions, batch
// sizes, MERGE text, commit/rollback/release order, ORA-00955, and error classification.

import t from 'tap';
import type { AnswerRow, EventRow, SubmissionRow } from '../../../src/events/result-rows.js';
import { createSink } from '../../../src/sinks/create-sink.js';
import type { ResultSink } from '../../../src/sinks/result-sink.js';
import { FakeOracleDb, njsError, oraError } from './fake-oracledb.js';

const HOSTILE = "'); DROP TABLE UX_ANSWERS; --";

function oracleSink(fake: FakeOracleDb, batchSize = 5000): ResultSink {
  return createSink({
    kind: 'oracle',
    user: 'untradex',
    password: 'secret',
    connectString: 'db.example:1521/FREEPDB1',
    tablePrefix: 'ux_',
    batchSize,
    poolMax: 3,
    oracledb: fake,
  });
}

function answers(n: number): AnswerRow[] {
  return Array.from({ length: n }, (_, i) => ({
    examId: 'E1',
    studentId: `S${i}`,
    questionId: 'Q1',
    value: i === 7 ? HOSTILE : i % 2 === 0 ? '' : 'é'.repeat(i % 50),
    seq: i + 1,
    answeredAt: i % 3 === 0 ? null : 1_764_400_000_000 + i,
    receivedAt: 1_764_400_000_500 + i,
  }));
}

const EVENTS: EventRow[] = Array.from({ length: 7 }, (_, i) => ({
  examId: 'E1',
  studentId: 'S1',
  seq: i + 1,
  kind: i === 0 ? 'open' : 'answer',
  questionId: i === 0 ? null : `Q${i}`,
  value: i === 0 ? null : 'x'.repeat(i * 10),
  clientTs: null,
  serverTs: 1_764_400_000_000 + i,
}));

const SUBMISSIONS: SubmissionRow[] = [{ examId: 'E1', studentId: 'S1', submittedAt: 1_764_400_009_999, lastSeq: 8 }];

t.test('ensureTables creates the three tables of section 5 on a pooled connection', async (t) => {
  const fake = new FakeOracleDb();
  const sink = oracleSink(fake);
  await sink.ensureTables();
  t.same(fake.callsOf('createPool').map((c) => c.attributes), [
    {
      user: 'untradex',
      password: 'secret',
      connectString: 'db.example:1521/FREEPDB1',
      poolMin: 0,
      poolMax: 3,
      poolIncrement: 1,
      queueTimeout: 60_000,
    },
  ]);
  const ddl = fake.callsOf('execute').map((c) => c.sql);
  t.same(ddl, [
    'CREATE TABLE UX_EVENTS (EXAM_ID VARCHAR2(64 BYTE) NOT NULL, STUDENT_ID VARCHAR2(64 BYTE) NOT NULL, SEQ NUMBER(16) NOT NULL, ' +
      'KIND VARCHAR2(16 BYTE) NOT NULL, QUESTION_ID VARCHAR2(64 BYTE), VALUE VARCHAR2(4000 BYTE), CLIENT_TS TIMESTAMP(3), ' +
      'SERVER_TS TIMESTAMP(3) NOT NULL, PRIMARY KEY (EXAM_ID, STUDENT_ID, SEQ))',
    'CREATE TABLE UX_ANSWERS (EXAM_ID VARCHAR2(64 BYTE) NOT NULL, STUDENT_ID VARCHAR2(64 BYTE) NOT NULL, QUESTION_ID VARCHAR2(64 BYTE) NOT NULL, ' +
      'VALUE VARCHAR2(4000 BYTE), SEQ NUMBER(16) NOT NULL, ANSWERED_AT TIMESTAMP(3), RECEIVED_AT TIMESTAMP(3) NOT NULL, ' +
      'PRIMARY KEY (EXAM_ID, STUDENT_ID, QUESTION_ID))',
    'CREATE TABLE UX_SUBMISSIONS (EXAM_ID VARCHAR2(64 BYTE) NOT NULL, STUDENT_ID VARCHAR2(64 BYTE) NOT NULL, ' +
      'SUBMITTED_AT TIMESTAMP(3) NOT NULL, LAST_SEQ NUMBER(16) NOT NULL, PRIMARY KEY (EXAM_ID, STUDENT_ID))',
  ]);
  t.same(fake.sequence(), ['createPool', 'getConnection', 'execute', 'execute', 'execute', 'close']);
  t.same(fake.callsOf('close'), [{ method: 'close', connection: 1, drop: false }], 'the connection goes back to the pool');
  await sink.ensureTables();
  t.equal(fake.callsOf('createPool').length, 1, 'one pool per sink');
  await sink.close();
  t.same(fake.callsOf('closePool'), [{ method: 'closePool', drainTime: 0 }]);
});

t.test('ORA-00955 (created concurrently by another sink) is tolerated; other DDL errors are permanent', async (t) => {
  const fake = new FakeOracleDb();
  fake.script = (call) => {
    if (call.method === 'execute') throw oraError(955, 'name is already used by an existing object');
  };
  const sink = oracleSink(fake);
  await t.resolves(sink.ensureTables());
  t.equal(fake.callsOf('execute').length, 3, 'every table is still attempted');

  const denied = new FakeOracleDb();
  denied.script = (call) => {
    if (call.method === 'execute') throw oraError(1031, 'insufficient privileges');
  };
  const refused = oracleSink(denied);
  await t.rejects(refused.ensureTables(), { code: 'UX_ERR_SINK_PERMANENT', transient: false });
  t.same(denied.callsOf('close'), [{ method: 'close', connection: 1, drop: false }], 'released after the failure');
});

t.test('12,345 answers go as executeMany batches of 5000, 5000 and 2345 with typed bind definitions', async (t) => {
  const fake = new FakeOracleDb();
  const sink = oracleSink(fake, 5000);
  const rows = answers(12_345);
  const write = await sink.beginBucket('E1', 3);
  await write.addAnswers(rows);
  const many = fake.callsOf('executeMany');
  t.same(
    many.map((c) => c.binds.length),
    [5000, 5000, 2345],
  );
  const longest = (batch: AnswerRow[]): number => Math.max(1, ...batch.map((r) => Buffer.byteLength(r.value)));
  const VARCHAR = fake.DB_TYPE_VARCHAR;
  const NUMBER = fake.DB_TYPE_NUMBER;
  many.forEach((call, i) => {
    const batch = rows.slice(i * 5000, (i + 1) * 5000);
    t.same(call.options, {
      autoCommit: false,
      batchErrors: true,
      bindDefs: [
        { type: VARCHAR, maxSize: 64 },
        { type: VARCHAR, maxSize: 64 },
        { type: VARCHAR, maxSize: 64 },
        { type: VARCHAR, maxSize: longest(batch) },
        { type: NUMBER },
        { type: NUMBER },
        { type: NUMBER },
      ],
    });
    t.same(
      call.binds,
      batch.map((r) => [r.examId, r.studentId, r.questionId, r.value, r.seq, r.answeredAt, r.receivedAt]),
      `batch ${i + 1} binds every row in column order, times as ms`,
    );
    t.notOk(call.sql.includes(HOSTILE) || call.sql.includes('S7'), 'values are bound, never in the SQL');
  });
  t.same(
    many.map((c) => c.sql),
    [many[0]?.sql, many[0]?.sql, many[0]?.sql],
    'one statement text for every batch',
  );
  t.equal(
    many[0]?.sql,
    'MERGE INTO UX_ANSWERS t USING (SELECT :1 AS EXAM_ID, :2 AS STUDENT_ID, :3 AS QUESTION_ID, :4 AS VALUE, :5 AS SEQ, ' +
      "CAST(TIMESTAMP '1970-01-01 00:00:00' + NUMTODSINTERVAL(:6 / 1000, 'SECOND') AS TIMESTAMP(3)) AS ANSWERED_AT, " +
      "CAST(TIMESTAMP '1970-01-01 00:00:00' + NUMTODSINTERVAL(:7 / 1000, 'SECOND') AS TIMESTAMP(3)) AS RECEIVED_AT FROM DUAL) s " +
      'ON (t.EXAM_ID = s.EXAM_ID AND t.STUDENT_ID = s.STUDENT_ID AND t.QUESTION_ID = s.QUESTION_ID) ' +
      'WHEN MATCHED THEN UPDATE SET t.VALUE = s.VALUE, t.SEQ = s.SEQ, t.ANSWERED_AT = s.ANSWERED_AT, t.RECEIVED_AT = s.RECEIVED_AT ' +
      'WHERE s.SEQ >= t.SEQ ' +
      'WHEN NOT MATCHED THEN INSERT (EXAM_ID, STUDENT_ID, QUESTION_ID, VALUE, SEQ, ANSWERED_AT, RECEIVED_AT) ' +
      'VALUES (s.EXAM_ID, s.STUDENT_ID, s.QUESTION_ID, s.VALUE, s.SEQ, s.ANSWERED_AT, s.RECEIVED_AT)',
    'answers MERGE keeps the highest seq',
  );
  t.same(fake.callsOf('commit'), [], 'nothing is committed before commit()');
  t.same(await write.commit(), { rows: 12_345 });
  t.same(fake.sequence().slice(-2), ['commit', 'close']);
  t.same(fake.callsOf('close'), [{ method: 'close', connection: 1, drop: false }]);
  t.same(fake.callsOf('rollback'), []);
});

t.test('events and submissions MERGE by their keys, in batches of batchSize', async (t) => {
  const fake = new FakeOracleDb();
  const sink = oracleSink(fake, 3);
  const write = await sink.beginBucket('E1', 0);
  await write.addEvents(EVENTS);
  await write.addSubmissions(SUBMISSIONS);
  await write.addAnswers([]);
  const many = fake.callsOf('executeMany');
  t.same(
    many.map((c) => c.binds.length),
    [3, 3, 1, 1],
    '7 events as 3 + 3 + 1, then the submission; an empty chunk sends nothing',
  );
  const [events, , lastEvents, submissions] = many;
  t.match(events?.sql, /^MERGE INTO UX_EVENTS t USING \(SELECT :1 AS EXAM_ID, :2 AS STUDENT_ID, :3 AS SEQ, :4 AS KIND, :5 AS QUESTION_ID, :6 AS VALUE, /);
  t.match(events?.sql, /ON \(t\.EXAM_ID = s\.EXAM_ID AND t\.STUDENT_ID = s\.STUDENT_ID AND t\.SEQ = s\.SEQ\)/);
  t.notMatch(events?.sql, /WHEN MATCHED/, 'an exported event row is never updated: the audit log only grows');
  t.match(events?.sql, /\) WHEN NOT MATCHED THEN INSERT/);
  t.same(events?.options.bindDefs.map((d) => d.maxSize), [64, 64, undefined, 16, 64, 20, undefined, undefined], 'value maxSize is the longest value of the batch');
  t.same(lastEvents?.options.bindDefs[5], { type: fake.DB_TYPE_VARCHAR, maxSize: 60 });
  t.same(lastEvents?.binds, [['E1', 'S1', 7, 'answer', 'Q6', 'x'.repeat(60), null, 1_764_400_000_006]]);
  t.match(submissions?.sql, /^MERGE INTO UX_SUBMISSIONS t USING \(SELECT :1 AS EXAM_ID, :2 AS STUDENT_ID, CAST\(.*:3 \/ 1000.*\) AS SUBMITTED_AT, :4 AS LAST_SEQ FROM DUAL\) s ON \(t\.EXAM_ID = s\.EXAM_ID AND t\.STUDENT_ID = s\.STUDENT_ID\) WHEN MATCHED THEN UPDATE SET t\.SUBMITTED_AT = s\.SUBMITTED_AT, t\.LAST_SEQ = s\.LAST_SEQ WHEN NOT MATCHED/);
  t.same(submissions?.binds, [['E1', 'S1', 1_764_400_009_999, 8]]);
  t.same(await write.commit(), { rows: 8 });
});

t.test('rollback rolls back and releases; nothing is committed', async (t) => {
  const fake = new FakeOracleDb();
  const sink = oracleSink(fake);
  const write = await sink.beginBucket('E1', 1);
  await write.addAnswers(answers(10));
  await write.rollback();
  await write.rollback();
  t.same(fake.sequence(), ['createPool', 'getConnection', 'executeMany', 'rollback', 'close']);
  t.same(fake.callsOf('close'), [{ method: 'close', connection: 1, drop: false }]);
  await t.rejects(write.commit(), { code: 'UX_ERR_SINK_PERMANENT' });
  t.same(fake.callsOf('commit'), []);
});

t.test('batch errors fail the bucket permanently, roll it back, and stick', async (t) => {
  const fake = new FakeOracleDb();
  fake.script = (call) => {
    if (call.method === 'executeMany') {
      return { batchErrors: [{ offset: 2, errorNum: 1400, code: 'ORA-01400', message: 'ORA-01400: cannot insert NULL into ("UX"."UX_ANSWERS"."EXAM_ID")' }] };
    }
  };
  const sink = oracleSink(fake);
  const write = await sink.beginBucket('E1', 2);
  const failure = await write.addAnswers(answers(5)).then(
    () => undefined,
    (err: unknown) => err,
  );
  t.match(failure, { code: 'UX_ERR_SINK_PERMANENT', transient: false });
  t.same(fake.sequence().slice(-2), ['rollback', 'close'], 'rolled back and released at once');
  await t.rejects(write.commit(), failure as Error, 'commit rejects with the same failure');
  await t.rejects(write.addEvents(EVENTS), failure as Error);
  t.same(fake.callsOf('commit'), []);
});

t.test('a broken connection is transient, and the connection is dropped, not pooled', async (t) => {
  const fake = new FakeOracleDb();
  fake.script = (call) => {
    if (call.method === 'executeMany') {
      throw njsError(500, 'connection to Oracle Database was closed or broken\nORA-03113: end-of-file on communication channel');
    }
  };
  const sink = oracleSink(fake);
  const write = await sink.beginBucket('E1', 4);
  await t.rejects(write.addAnswers(answers(3)), { code: 'UX_ERR_SINK_TRANSIENT', transient: true });
  t.same(fake.callsOf('close'), [{ method: 'close', connection: 1, drop: true }]);
  t.same(fake.callsOf('rollback'), [], 'no rollback on a dead session: dropping it ends the transaction');
  await t.rejects(write.commit(), { code: 'UX_ERR_SINK_TRANSIENT' });
});

t.test('pool timeouts, refused connections and a failed pool creation are transient', async (t) => {
  const cases: [string, Error][] = [
    ['NJS-040 queue timeout', njsError(40, 'connection request timeout. Request exceeded "queueTimeout" of 60000')],
    ['NJS-503 could not connect', njsError(503, 'connection to host db port 1521 could not be established.')],
    ['ORA-12541 no listener', oraError(12541, 'TNS:no listener')],
    ['ORA-12170 connect timeout', oraError(12170, 'TNS:Connect timeout occurred')],
  ];
  for (const [name, error] of cases) {
    const fake = new FakeOracleDb();
    fake.script = (call) => {
      if (call.method === 'getConnection') throw error;
    };
    await t.rejects(oracleSink(fake).beginBucket('E1', 0), { code: 'UX_ERR_SINK_TRANSIENT', transient: true, cause: error }, name);
  }

  const fake = new FakeOracleDb();
  let attempts = 0;
  fake.script = (call) => {
    if (call.method === 'createPool' && ++attempts === 1) throw njsError(511, 'connection to listener at host db port 1521 was refused.');
  };
  const sink = oracleSink(fake);
  await t.rejects(sink.ensureTables(), { code: 'UX_ERR_SINK_TRANSIENT' });
  await t.resolves(sink.ensureTables(), 'the next call creates the pool again');
  t.equal(fake.callsOf('createPool').length, 2);
});

t.test('a value over 4000 bytes is refused before anything is sent', async (t) => {
  const fake = new FakeOracleDb();
  const sink = oracleSink(fake);
  const write = await sink.beginBucket('E1', 0);
  const [row] = answers(1);
  await t.rejects(write.addAnswers([{ ...(row as AnswerRow), value: '😀'.repeat(1001) }]), { code: 'UX_ERR_SINK_PERMANENT' });
  t.same(fake.callsOf('executeMany'), []);
  t.same(fake.sequence().slice(-2), ['rollback', 'close']);
});

t.test('close rolls back open buckets, then closes the pool', async (t) => {
  const fake = new FakeOracleDb();
  const sink = oracleSink(fake);
  const a = await sink.beginBucket('E1', 0);
  await a.addAnswers(answers(2));
  const b = await sink.beginBucket('E1', 1);
  await b.commit();
  await sink.close();
  await sink.close();
  t.same(fake.sequence(), ['createPool', 'getConnection', 'executeMany', 'getConnection', 'commit', 'close', 'rollback', 'close', 'closePool']);
  await t.rejects(sink.beginBucket('E1', 2), { code: 'UX_ERR_SINK_PERMANENT' }, 'a closed sink begins nothing');
});

t.test('missing Oracle settings are ConfigErrors naming the key', async (t) => {
  const base = { kind: 'oracle' as const, user: 'u', password: 'p', connectString: 'db/x', tablePrefix: 'ux_', batchSize: 10, poolMax: 1 };
  t.throws(() => createSink({ ...base, user: null }), { code: 'UX_ERR_CONFIG', key: 'export.oracle.user' });
  t.throws(() => createSink({ ...base, password: null }), { code: 'UX_ERR_CONFIG', key: 'export.oracle.password' });
  t.throws(() => createSink({ ...base, connectString: null }), { code: 'UX_ERR_CONFIG', key: 'export.oracle.connectString' });
  t.throws(() => createSink({ ...base, connectString: '' }), { code: 'UX_ERR_CONFIG', key: 'export.oracle.connectString' });
  t.throws(() => createSink({ ...base, tablePrefix: 'ux; drop' }), { code: 'UX_ERR_CONFIG', key: 'export.tablePrefix' });
});
