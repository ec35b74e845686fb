// The control API of docs/PROTOCOL.md section 4 against a running Untradex: health and readiness
// without auth, bearer auth on /api/*, tokens, exam state, metrics, and the error shape.

import t from 'tap';
import { verifyStudentToken } from '../../../src/auth/student-token.js';
import { startUntradexInProcess } from '../../helpers/untradex.js';

t.test('control API', async (t) => {
  const ux = await startUntradexInProcess(t, { redis: { buckets: 4 }, control: { maxBodyBytes: 2048 } });
  const raw = (path: string, init: RequestInit = {}) => fetch(ux.controlUrl + path, init);

  t.test('health and readiness need no token', async (t) => {
    const health = await raw('/healthz');
    t.equal(health.status, 200);
    t.same(await health.json(), { ok: true });
    const ready = await raw('/readyz');
    t.equal(ready.status, 200);
    t.match(await ready.json(), { ok: true, reasons: [], sink: { sink: 'sqlite', reachable: true, error: null } });
  });

  t.test('every /api/* call without the right bearer is 401 with the error shape, and does nothing', async (t) => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token' }, { authorization: `Basic ${ux.adminToken}` }];
    for (const headers of attempts) {
      const response = await raw('/api/exams/E1/tokens', { method: 'POST', headers, body: JSON.stringify({ students: ['S1'] }) });
      t.equal(response.status, 401);
      t.match(await response.json(), { error: 'unauthorized', message: String });
    }
    t.equal((await raw('/api/status')).status, 401);
  });

  t.test('tokens are minted in the section 2 format for the exam and students asked', async (t) => {
    const reply = await ux.api<{ tokens: Record<string, string> }>('POST', '/api/exams/EX-1/tokens', { students: ['S1', 'S.2'], ttlSeconds: 60 });
    t.equal(reply.status, 200);
    t.same(Object.keys(reply.body.tokens).sort(), ['S.2', 'S1']);
    const claims = verifyStudentToken(ux.config.auth.secret, reply.body.tokens.S1!);
    t.match(claims, { exam: 'EX-1', student: 'S1' });
    t.ok(claims.expiresAt > Date.now() / 1000 && claims.expiresAt <= Date.now() / 1000 + 61);
  });

  t.test('bad requests are refused with 4xx and a message', async (t) => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/api/exams/EX-1/tokens', { students: [] }, 400, 'bad_request'],
      ['POST', '/api/exams/EX-1/tokens', { students: ['bad id!'] }, 400, 'bad_request'],
      ['POST', '/api/exams/EX-1/tokens', { students: ['S1'], ttlSeconds: 0 }, 400, 'bad_request'],
      ['POST', '/api/exams/EX-1/tokens', { students: Array.from({ length: 400 }, (_, i) => `S${i}`) }, 413, 'payload_too_large'],
      ['GET', '/api/exams/bad%20exam', undefined, 400, 'bad_request'],
      ['GET', '/api/nothing-here', undefined, 404, 'not_found'],
      ['DELETE', '/api/exams/EX-1', undefined, 405, 'method_not_allowed'],
      ['POST', '/api/exams/EX-1/purge', undefined, 409, 'conflict'],
    ];
    for (const [method, path, body, status, error] of cases) {
      const reply = await ux.api<{ error: string; message: string }>(method, path, body);
      t.equal(reply.status, status, `${method} ${path}`);
      t.equal(reply.body.error, error, `${method} ${path} error code`);
      t.type(reply.body.message, 'string');
    }
    const notJson = await raw('/api/exams/EX-1/tokens', { method: 'POST', headers: { authorization: `Bearer ${ux.adminToken}` }, body: '{nope' });
    t.equal(notJson.status, 400);
  });

  t.test('an exam nobody wrote to reads as open with zero counts', async (t) => {
    const reply = await ux.api('GET', '/api/exams/NEVER-USED');
    t.equal(reply.status, 200);
    t.match(reply.body, { exam: 'NEVER-USED', state: 'open', students: 0, events: 0, export: { bucketsDone: 0, bucketsTotal: 4, rows: 0, percent: 0 } });
  });

  t.test('status and metrics describe the running actors', async (t) => {
    const status = await ux.api<{ state: string; events: { badEvents: number }; actors: Array<{ id: string; status: string; eventLoop?: { p99Ms: number; maxMs: number } }>; redis: { status: string } }>('GET', '/api/status');
    t.equal(status.status, 200);
    t.equal(status.body.events.badEvents, 0, 'status counts poison events (none here)');
    t.equal(status.body.state, 'running');
    t.ok(status.body.actors.some((actor) => actor.id === 'writer-0' && actor.status === 'running'));
    t.ok(status.body.actors.some((actor) => actor.id === 'connection-0' && actor.status === 'running'));
    t.equal(status.body.redis.status, 'ready');
    // Every thread that serves students reports its loop delay. An idle thread is not sampled (it
    // would wake 100 times a second for nothing), so its figures may read 0; they are still there.
    for (const id of ['writer-0', 'connection-0']) {
      const loop = status.body.actors.find((actor) => actor.id === id)?.eventLoop;
      t.ok(loop !== undefined && loop.p99Ms >= 0 && loop.p99Ms <= loop.maxMs, `${id} reports its event-loop delay (${JSON.stringify(loop)})`);
    }
    t.notOk(status.body.actors.find((actor) => actor.id === 'redis-server')?.eventLoop, 'redis-server is a process, not a thread: no loop delay');
    // Where each writer's loop is: a batch stuck on Redis would show as a long `writing` (and in /readyz).
    const writer = (status.body.actors.find((actor) => actor.id === 'writer-0') as { writer?: { phase: string; batchEvents: number; redisConnections: string[] } } | undefined)?.writer;
    t.match(writer, { phase: /^(idle|lingering|writing|acking)$/, batchEvents: Number }, `writer-0 reports its loop (${JSON.stringify(writer)})`);
    t.ok(writer !== undefined && writer.redisConnections.length > 0 && writer.redisConnections.every((state) => state === 'ready'), 'and the state of each of its Redis connections');
    t.notOk((status.body.actors.find((actor) => actor.id === 'connection-0') as { writer?: unknown } | undefined)?.writer, 'a connection actor has no writer loop');
    const metrics = await raw('/metrics');
    t.equal(metrics.status, 200);
    t.match(metrics.headers.get('content-type'), /text\/plain/);
    const text = await metrics.text();
    t.match(text, /# TYPE ux_events_stored_total counter/);
    t.match(text, /\nux_events_bad_total 0\n/, 'events isolated as poison and nacked bad_event: none');
    t.match(text, /ux_actor_up\{actor="writer-0"\} 1/);
    // A number of seconds, whatever it is: a loaded machine delays a thread by seconds, and how much
    // is a benchmark's business, not this test's (it read 4.23 once under a loaded npm test).
    t.match(text, /ux_actor_event_loop_delay_max_seconds\{actor="connection-0"\} \d+(\.\d+)?(e-?\d+)?\n/);
  });
});
