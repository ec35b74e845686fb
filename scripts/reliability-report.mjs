#!/usr/bin/env node
// Runs the fault, hostile-input and export tests with UX_RELIABILITY_DIR set, then regenerates
// docs/RELIABILITY.md from the records they wrote: every figure in it comes from this run.
//
//   npm run build && node scripts/reliability-report.mjs            run the tests, write the doc
//   node scripts/reliability-report.mjs --records <dir>              only rebuild the doc from <dir>/records.jsonl
//
// Exits non-zero when a test file failed (the doc is still written, and says so).

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, freemem, release, tmpdir, totalmem, type as osType } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'docs', 'RELIABILITY.md');
/** The test folders whose files record reliability rows. */
const SUITES = [
  { dir: 'dist/test/faults', what: 'faults to survive' },
  { dir: 'dist/test/security', what: 'hostile input to refuse' },
  { dir: 'dist/test/integration/export', what: 'export faults' },
];

/** Issue 4's numbering of the faults, matched on the start of a record's scenario. */
const FAULT_ORDER = [
  [1, 'connection actor'],
  [2, 'writer crash'],
  [3, 'restart intensity'],
  [4, 'Redis killed'],
  [5, 'power loss'],
  [6, 'SIGTERM'],
  [7, 'exporter killed'],
  [7, 'process killed mid-export'],
  [7, 'database down'],
];

function say(message) {
  process.stderr.write(`[reliability] ${message}\n`);
}

function listTests(dir) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  const out = [];
  for (const name of readdirSync(abs).sort()) {
    const path = join(abs, name);
    if (statSync(path).isDirectory()) out.push(...listTests(join(dir, name)));
    else if (name.endsWith('.test.js')) out.push(join(dir, name));
  }
  return out;
}

/** Runs tap on the files, echoing its output; resolves with the exit code and per-file results. */
function runTap(files, recordsDir) {
  return new Promise((resolve, reject) => {
    const tap = join(root, 'node_modules', '.bin', 'tap');
    const child = spawn(tap, ['--reporter=tap', ...files], {
      cwd: root,
      env: { ...process.env, UX_RELIABILITY_DIR: recordsDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      process.stdout.write(chunk);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const results = [];
      for (const match of text.matchAll(/^(not ok|ok) \d+ - (\S+\.test\.js)(?: # time=([\d.]+)ms)?/gm)) {
        results.push({ file: match[2], ok: match[1] === 'ok', seconds: match[3] === undefined ? null : Number(match[3]) / 1000 });
      }
      resolve({ code: code ?? 1, results });
    });
  });
}

function readRecords(dir) {
  const path = join(dir, 'records.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

function tryRun(command, args) {
  try {
    return execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function machine() {
  const cpu = cpus();
  const redis = /v=(\S+)/.exec(tryRun('redis-server', ['--version']) ?? '')?.[1] ?? 'not found';
  const commit = tryRun('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const dirty = (tryRun('git', ['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  return {
    cpu: `${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at the end)`,
    os: `${osType()} ${release()}`,
    node: process.version,
    redis,
    commit: dirty ? `${commit} with uncommitted changes` : commit,
  };
}

const cell = (value) => String(value ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ');

function faultNumber(record) {
  const found = FAULT_ORDER.find(([, prefix]) => record.scenario.startsWith(prefix));
  return found === undefined ? 99 : found[0];
}

function faultTable(records) {
  const rows = records
    .map((record) => ({ record, number: faultNumber(record) }))
    .sort((a, b) => a.number - b.number || a.record.scenario.localeCompare(b.record.scenario));
  const lines = [
    '| # | scenario | injected | acked | in the store | lost | duplicated | notes |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const { record, number } of rows) {
    lines.push(
      `| ${number === 99 ? '' : number} | ${cell(record.scenario)} | ${cell(record.injected)} | ${record.acked} | ${record.inSink} | ${record.lost} | ${record.duplicated} | ${cell(record.note)} |`,
    );
  }
  return lines.join('\n');
}

function hostileTable(records) {
  const rows = [...records].sort((a, b) => a.scenario.localeCompare(b.scenario));
  const lines = ['| scenario | inputs tried | what they got | harmed | notes |', '| --- | ---: | --- | ---: | --- |'];
  for (const record of rows) lines.push(`| ${cell(record.scenario)} | ${record.inputs} | ${cell(record.outcome)} | ${record.harmed} | ${cell(record.note)} |`);
  return lines.join('\n');
}

function testTable(results) {
  const lines = ['| test file | result | seconds |', '| --- | --- | ---: |'];
  for (const result of results) lines.push(`| \`${result.file.replace(/^dist\//, '').replace(/\.js$/, '.ts')}\` | ${result.ok ? 'pass' : '**FAIL**'} | ${result.seconds === null ? '' : result.seconds.toFixed(1)} |`);
  return lines.join('\n');
}

function render({ records, run, command, startedAt, finishedAt }) {
  const host = machine();
  const faults = records.filter((record) => record.kind === 'fault');
  const hostile = records.filter((record) => record.kind === 'hostile');
  const lost = faults.reduce((total, record) => total + record.lost, 0);
  const duplicated = faults.reduce((total, record) => total + record.duplicated, 0);
  const acked = faults.reduce((total, record) => total + record.acked, 0);
  const harmed = hostile.reduce((total, record) => total + record.harmed, 0);
  const inputs = hostile.reduce((total, record) => total + record.inputs, 0);
  const failed = run?.results.filter((result) => !result.ok) ?? [];
  const everysec = faults.find((record) => record.scenario.startsWith('power loss (appendfsync everysec'));

  return `# Reliability: what Untradex survives and what it refuses

<!-- Generated by scripts/reliability-report.mjs from the records the tests wrote in this run. Do not edit by hand: run \`npm run reliability\`. -->

Every figure below was written by a test in one run of the fault, hostile-input and export
tests; none is typed by hand. A fault test injects its fault into the real system (real threads,
real redis-server, real sockets, the CLI as \`npm start\` runs it) under student load from the
client library, then compares what the students were acked with what Redis, or the SQL sink
after finalize, holds.

- Run: ${startedAt} to ${finishedAt}, commit ${host.commit}.
- Machine: ${host.cpu}; ${host.memory}; ${host.os}; Node ${host.node}; redis-server ${host.redis}.
- Command: \`${command}\`.
- Tests: ${run === null ? 'not run by this invocation (records read from a directory)' : `${run.results.length - failed.length} of ${run.results.length} test files passed${failed.length > 0 ? `; **failed: ${failed.map((result) => result.file).join(', ')}**` : ''}`}.
- Totals: ${faults.length} fault scenarios, ${acked} events acked, **${lost} lost, ${duplicated} duplicated**; ${hostile.length} hostile-input scenarios, ${inputs} inputs tried, **${harmed} harmed**.

## Faults survived

"acked" counts the events the students were told are durable; "in the store" counts what the
store the notes name (Redis, or the SQL sink after finalize) holds for them, duplicates included;
"lost" is acked but absent; "duplicated" is an entry beyond the first for one (student, seq).
The export rows (7) count the exam's events, every one of them acked before finalize.

${faults.length === 0 ? '_No fault records in this run._' : faultTable(faults)}

## Hostile input refused

${hostile.length === 0 ? '_No hostile-input records in this run._' : hostileTable(hostile)}

## How the faults are injected

Faults 1 and 2 need to crash a thread at a chosen line. \`src/actor-runtime/fault-injection.ts\`
holds named fault points, inert unless the process that starts the actors has
\`UX_FAULT_INJECTION=1\` in its environment (worker threads inherit it at spawn):

| fault point | where | what the test proves with it |
| --- | --- | --- |
| \`now\` | anywhere, as soon as armed | an actor dying out of the blue |
| \`connection.event\` | a connection actor took a student's event off a socket | connection actor crash mid-traffic (1) |
| \`writer.afterFcall\` | Redis answered the writer's FCALLs; no ack posted, no ring space freed | the batch is re-read and written once (2); a poison batch crash loop (3) |
| \`writer.afterAcks\` | acks posted, ring space not yet freed | the re-read batch is acked again as duplicates (2) |

The action is \`throw\` (an uncaught exception on the next turn; an asynchronous point never
resumes its caller) or \`exit\` (\`process.exit(1)\` inside the thread). A test arms a point in a
running actor through one extra method on its control API, \`injectFault({ point, action, nth })\`
(\`hostActor\` adds it only when injection is on; without it the call is refused), or in every
incarnation of an actor through \`UX_FAULT_PLAN\`, a JSON array of
\`{ actor, point, action, nth }\` read at spawn (how the crash loop of fault 3 reaches the CLI).
In production the only cost is one property read, \`faults.armed\`, at each point.

Faults 4 to 6 need no hooks: \`kill -9\` of redis-server (\`ux.app.root.embeddedRedis.kill('SIGKILL')\`,
or the test's own external server), of the whole process group (\`killGroup()\`), and SIGTERM.

## Redis outages and the ioredis settings

\`src/redis/redis-client.ts\` configures every connection so that no command is dropped silently
while Redis is down or restarting, and the fault 4 rows show it holding:

- \`enableOfflineQueue: true\`: a command issued while disconnected waits in ioredis's offline
  queue and goes out after the reconnect, instead of failing at once.
- \`maxRetriesPerRequest: null\`: a waiting command never fails for having waited through too many
  reconnect attempts (ioredis's default, 20, would fail every queued write after some 30 s of
  outage at our 2 s backoff cap). Failing would gain nothing: the writer would only rewind its
  rings and send the same batch again, while the rings above already carry the backpressure.
- \`autoResendUnfulfilledCommands: true\`: FCALLs written to the socket but unanswered when it
  dropped are resent after the reconnect. Redis may have run them before dying; \`ux_write\`
  answers the second run \`Duplicate\` (dedupe by seq), so the resend is harmless.
- \`commandTimeout\` unset: a slow fsync delays an ack; it never turns a write whose effect is
  unknown into an error.
- \`enableReadyCheck: true\`: nothing is sent while a restarted Redis is still loading its AOF
  (it would answer \`LOADING\` errors).
- \`retryStrategy\`: capped exponential backoff with jitter, 50 ms to 2 s, so writers are back
  within moments of a restart and many connections do not reconnect in lockstep.

With \`redis.cluster\`, \`clusterClientOptions\` applies the same policy through ioredis's Cluster
client (offline queue on, redirections and failover retries counted generously, resends deduped).

Even a write that does fail (a Redis error reply) loses nothing: the writer keeps the batch in its
rings, rewinds, and sends it again after a short backoff; ring space is freed only after Redis
answered and the acks were posted. While a writer waits, its rings fill, the connection actors
hold the next events and pause the sockets (TCP backpressure), and nothing is acked that Redis
does not hold: the external-Redis row checks that no event sent after the kill was acked while
Redis was down.

One kind of failure is not waited out: an error raised by \`ux_write\` itself (a Lua error, such as
\`UXBAD\` for a malformed field or \`UXCORRUPT\` for a student state that no longer parses), which
would fail the same batch forever and stall every student on that writer. \`ux_write\` runs every
check before its first write, so a call that raised wrote nothing; the writer then writes each
failed bucket of the batch again alone and in halves until the one event whose write alone
raises, twice, is found (\`actors/redis-writer/poison-isolation.ts\`). That event is answered
\`nack bad_event\` and never stored, one error line names its exam, student, seq and Redis's
error, and \`/api/status\` counts it in \`events.badEvents\`; every other event gets its real
outcome, acks still go back in ring order, and a student's later seqs are stored after it.
Errors that say "try again" (\`LOADING\`, \`BUSY\`, \`MISCONF\`, \`OOM\`, \`NOREPLICAS\`, Cluster
redirections, \`READONLY\`, a lost connection, replicas that did not confirm) never lead to a nack.

## appendfsync everysec: the window

${
  everysec === undefined
    ? '_The everysec measurement did not run._'
    : `Measured in this run (${cell(everysec.injected)}): **${everysec.lost} acked events lost**. ${cell(everysec.note).replace(/^Redis; /, '')}.`
}

What this means: \`kill -9\` stops the processes but not the kernel. Redis write()s each batch to
the AOF before it replies, so an acked event is at least in the page cache, and a process crash
loses nothing even with \`everysec\`. A power loss or kernel crash loses what was not yet fsynced:
with \`everysec\` that is up to about one second of acked events (up to two when the disk stalls
and Redis postpones the write), the "last second" figures above at this load. With
\`appendfsync always\`, the default, an ack is sent only after the fsync, and the power-loss row
(5) shows every acked event in the sink after a restart.

## The test files of this run

${run === null ? '_Not run by this invocation._' : testTable(run.results)}
`;
}

async function main() {
  const { values } = parseArgs({ options: { records: { type: 'string' } } });
  const startedAt = new Date().toISOString();
  let recordsDir = values.records;
  let run = null;
  let command = 'node scripts/reliability-report.mjs --records ' + (recordsDir ?? '');
  let ownDir = false;
  if (recordsDir === undefined) {
    if (!existsSync(join(root, 'dist', 'test'))) {
      say('dist/test is missing: build first (npm run build)');
      process.exit(2);
    }
    recordsDir = mkdtempSync(join(tmpdir(), 'ux-reliability-'));
    ownDir = true;
    const files = SUITES.flatMap((suite) => listTests(suite.dir));
    for (const suite of SUITES) say(`${suite.what}: ${listTests(suite.dir).length} test files in ${suite.dir}`);
    command = `npm run reliability (npm run build && node scripts/reliability-report.mjs: UX_RELIABILITY_DIR=<tmp> tap ${SUITES.map((suite) => `${suite.dir}/**/*.test.js`).join(' ')})`;
    run = await runTap(files, recordsDir);
  }
  const records = readRecords(recordsDir);
  const finishedAt = new Date().toISOString();
  writeFileSync(OUT, render({ records, run, command, startedAt, finishedAt }));
  say(`wrote ${relative(root, OUT)} from ${records.length} records`);
  if (ownDir) rmSync(recordsDir, { recursive: true, force: true });
  if (run !== null && run.code !== 0) {
    say(`tap exited with ${run.code}: some tests failed (see the doc's last table)`);
    process.exit(1);
  }
}

main().catch((error) => {
  say(error.stack ?? String(error));
  process.exit(1);
});
