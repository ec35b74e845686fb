// Which driver failures are transient (retry the bucket) and which permanent, per sink, and
// that the SinkError keeps the driver's error as its cause.

import t from 'tap';
import { SinkError } from '../../../src/errors.js';
import { isTransientSinkCause, oracleErrorNum, toSinkError } from '../../../src/sinks/sink-errors.js';
import { njsError, oraError } from './fake-oracledb.js';

const coded = (code: string, message = `failure ${code}`): Error => Object.assign(new Error(message), { code });

t.test('PostgreSQL', async (t) => {
  const transient: [string, unknown][] = [
    ['connection refused', coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['connection reset', coded('ECONNRESET')],
    ['socket timeout', coded('ETIMEDOUT')],
    ['DNS try again', coded('EAI_AGAIN')],
    ['COPY stream closed early', coded('ERR_STREAM_PREMATURE_CLOSE', 'Premature close')],
    ['happy-eyeballs AggregateError', Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], 'connect'), {})],
    ['08006 connection failure', coded('08006')],
    ['08001 cannot connect', coded('08001')],
    ['40001 serialization failure', coded('40001')],
    ['40P01 deadlock', coded('40P01')],
    ['55P03 lock not available', coded('55P03')],
    ['57014 statement timeout', coded('57014')],
    ['57P01 admin shutdown', coded('57P01')],
    ['57P03 starting up', coded('57P03')],
    ['53300 too many connections', coded('53300')],
    ['pg: terminated unexpectedly', new Error('Connection terminated unexpectedly')],
    ['pg-pool: connect timeout', new Error('timeout exceeded when trying to connect')],
    ['pg: client broken', new Error('Client has encountered a connection error and is not queryable')],
  ];
  const permanent: [string, unknown][] = [
    ['23505 unique violation', coded('23505')],
    ['23502 not null violation', coded('23502')],
    ['42P01 undefined table', coded('42P01')],
    ['42601 syntax error', coded('42601')],
    ['42501 insufficient privilege', coded('42501')],
    ['28P01 bad password', coded('28P01')],
    ['3D000 no such database', coded('3D000')],
    ['22P04 bad copy data', coded('22P04')],
    ['DNS no such host', coded('ENOTFOUND')],
    ['plain error', new Error('something else')],
    ['a thrown string', 'boom'],
  ];
  for (const [name, err] of transient) t.equal(isTransientSinkCause('postgres', err), true, `${name} is transient`);
  for (const [name, err] of permanent) t.equal(isTransientSinkCause('postgres', err), false, `${name} is permanent`);
});

t.test('SQLite', async (t) => {
  for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_LOCKED', 'SQLITE_LOCKED_SHAREDCACHE', 'SQLITE_PROTOCOL']) {
    t.equal(isTransientSinkCause('sqlite', coded(code)), true, `${code} is transient`);
  }
  for (const code of ['SQLITE_CONSTRAINT_NOTNULL', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_ERROR', 'SQLITE_BUSYNESS']) {
    t.equal(isTransientSinkCause('sqlite', coded(code)), false, `${code} is permanent`);
  }
});

t.test('Oracle', async (t) => {
  const transient: [string, unknown][] = [
    ['ORA-03113 end of file', oraError(3113, 'end-of-file on communication channel')],
    ['ORA-03114 not connected', oraError(3114, 'not connected to ORACLE')],
    ['ORA-12541 no listener', oraError(12541, 'TNS:no listener')],
    ['ORA-12170 connect timeout', oraError(12170, 'TNS:Connect timeout occurred')],
    ['ORA-00060 deadlock', oraError(60, 'deadlock detected while waiting for resource')],
    ['ORA-08177 serialization', oraError(8177, "can't serialize access for this transaction")],
    ['ORA-01033 starting up', oraError(1033, 'ORACLE initialization or shutdown in progress')],
    ['NJS-500 wrapping ORA-03113', njsError(500, 'connection to Oracle Database was closed or broken\nORA-03113: end-of-file')],
    ['NJS-500 alone', njsError(500, 'connection to Oracle Database was closed or broken')],
    ['NJS-501 lost contact', njsError(501, 'connection to host db port 1521 terminated unexpectedly.')],
    ['NJS-503 could not connect', njsError(503, 'connection to host db port 1521 could not be established.')],
    ['NJS-510 connect timed out', njsError(510, 'connection to host db port 1521 timed out.')],
    ['NJS-040 pool queue timeout', njsError(40, 'connection request timeout')],
    ['NJS-076 pool queue full', njsError(76, 'connection request rejected. Pool queue length queueMax 500 reached')],
    ['socket ECONNRESET', coded('ECONNRESET')],
  ];
  const permanent: [string, unknown][] = [
    ['ORA-00001 unique constraint', oraError(1, 'unique constraint violated')],
    ['ORA-01400 NULL into NOT NULL', oraError(1400, 'cannot insert NULL')],
    ['ORA-12899 value too large', oraError(12899, 'value too large for column')],
    ['ORA-00942 no such table', oraError(942, 'table or view does not exist')],
    ['ORA-01017 bad credentials', oraError(1017, 'invalid username/password; logon denied')],
    ['ORA-01031 insufficient privileges', oraError(1031, 'insufficient privileges')],
    ['NJS-058 maxSize too small', njsError(58, 'maximum size of 64 is too small')],
    ['NJS-515 bad Easy Connect string', njsError(515, 'error in Easy Connect connection string')],
  ];
  for (const [name, err] of transient) t.equal(isTransientSinkCause('oracle', err), true, `${name} is transient`);
  for (const [name, err] of permanent) t.equal(isTransientSinkCause('oracle', err), false, `${name} is permanent`);
  t.equal(oracleErrorNum(oraError(955, 'name is already used')), 955);
  t.equal(oracleErrorNum(coded('ORA-00955')), 955, 'from the code when errorNum is absent');
  t.equal(oracleErrorNum(njsError(500, 'closed')), undefined);
});

t.test('toSinkError codes the error, keeps the cause, and passes SinkErrors through', async (t) => {
  const cause = coded('40P01');
  const transient = toSinkError('postgres', cause, 'committing');
  t.ok(transient instanceof SinkError);
  t.match(transient, { code: 'UX_ERR_SINK_TRANSIENT', transient: true });
  t.equal(transient.cause, cause);
  const permanent = toSinkError('oracle', oraError(942, 'table or view does not exist'), 'merging');
  t.match(permanent, { code: 'UX_ERR_SINK_PERMANENT', transient: false });
  t.equal(toSinkError('sqlite', transient, 'again'), transient, 'an existing SinkError is not rewrapped');
});
