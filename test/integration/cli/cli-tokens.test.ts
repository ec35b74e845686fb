// `untradex tokens` (docs/PROTOCOL.md section 9): a student list from a file, a spreadsheet's CSV or
// stdin, written back as CSV student,token,url; a bad list issues nothing and says which record.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { verifyStudentToken } from '../../../src/auth/student-token.js';
import { runCli } from '../../helpers/cli.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

t.test('untradex tokens', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 4 } });
  const auth = ['--url', ux.controlUrl, '--token', ux.adminToken];
  const csv = join(ux.dataDir, 'students.csv');
  // A spreadsheet export: a name column with a comma inside quotes, a BOM, a blank line, a repeated id.
  await writeFile(csv, '\uFEFFname,student_id,group\n"Doe, Jane",C1,A\n"Roe, Rick",C2,B\n\nSam,C3,A\nSam again,C3,A\n');

  t.test('tokens from a CSV: one line per student, valid tokens, links to the exam page', async (t) => {
    const run = await runCli([...auth, 'tokens', 'CLI-1', csv, '--exam-url', 'https://exam.school.example/exam/', '--ttl', '600']);
    t.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    t.equal(lines[0], 'student,token,url');
    t.same(lines.slice(1).map((line) => line.split(',')[0]), ['C1', 'C2', 'C3'], 'each student once, in the order given');
    for (const line of lines.slice(1)) {
      const [student, token, url] = line.split(',');
      const claims = verifyStudentToken(ux.config.auth.secret, token!);
      t.match(claims, { exam: 'CLI-1', student });
      t.ok(claims.expiresAt <= Date.now() / 1000 + 601, '--ttl is used');
      t.equal(url, `https://exam.school.example/exam/#token=${token}`);
    }
    t.match(run.stderr, /3 token\(s\) for exam CLI-1.*1 repeated/);
  });

  t.test('tokens from stdin, one id per line; the default link comes from the config', async (t) => {
    const run = await runCli([...auth, 'tokens', 'CLI-1'], { input: 'P1\n  P2  \n\nP3\n' });
    t.equal(run.code, 0, run.stderr);
    const rows = run.stdout.trim().split('\n').slice(1).map((line) => line.split(','));
    t.same(rows.map((row) => row[0]), ['P1', 'P2', 'P3']);
    t.match(rows[0]![2], /^http:\/\/[^/]+:8080\/exam\/#token=v1\./, 'http, the gateway port of the default config');
  });

  t.test('a list with a bad id issues nothing and says which', async (t) => {
    const run = await runCli([...auth, 'tokens', 'CLI-1'], { input: 'OK1\nnot ok\nOK2\n' });
    t.equal(run.code, 2);
    t.equal(run.stdout, '');
    t.match(run.stderr, /invalid student id.*record 2: "not ok".*no token was issued/);
    const header = await runCli([...auth, 'tokens', 'CLI-1'], { input: 'name,email\nJane,j@x\n' });
    t.equal(header.code, 2);
    t.match(header.stderr, /no "student" or "student_id" column; found: name, email/);
  });

});
