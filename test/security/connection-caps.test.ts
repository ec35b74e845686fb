// Connection floods: gateway.maxConnectionsPerAddress and gateway.maxConnections hold exactly for
// the whole process (several connection actors accept on the port), refused at the upgrade with
// 503, from several source addresses (127.0.0.x); places come back on close and after a crash.

import t from 'tap';
import { WebSocket } from 'ws';
import { recordReliability } from '../helpers/reliability-record.js';
import { attemptUpgrade, type UpgradeAttempt } from '../helpers/upgrade-attempt.js';
import { startUntradexInProcess } from '../helpers/untradex.js';

const PER_ADDRESS = 4;
const TOTAL = 10;

async function waitUntil(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('per-address and total caps are exact across connection actors', async (t) => {
  const ux = await startUntradexInProcess(t, {
    redis: { buckets: 2 },
    gateway: { connectionActors: 3, maxConnectionsPerAddress: PER_ADDRESS, maxConnections: TOTAL },
  });
  const open: UpgradeAttempt[] = [];
  t.teardown(() => open.forEach((a) => a.ws.terminate()));
  const statuses = new Map<string, number>();
  const tally = (status: number) => statuses.set(status === 101 ? 'upgraded' : `${status}`, (statuses.get(status === 101 ? 'upgraded' : `${status}`) ?? 0) + 1);
  const burst = async (address: string, n: number): Promise<UpgradeAttempt[]> => {
    // All at once, so the connection actors race each other for the same address.
    const attempts = await Promise.all(Array.from({ length: n }, () => attemptUpgrade(ux.gatewayUrl, address)));
    attempts.forEach((a) => tally(a.status));
    open.push(...attempts.filter((a) => a.status === 101));
    return attempts;
  };
  const upgraded = (attempts: UpgradeAttempt[]) => attempts.filter((a) => a.status === 101).length;
  const refused503 = (attempts: UpgradeAttempt[]) => attempts.filter((a) => a.status === 503).length;
  const connections = async () => (await ux.api<{ connections: { total: number } }>('GET', '/api/status')).body.connections.total;

  const a = await burst('127.0.0.2', 12);
  t.equal(upgraded(a), PER_ADDRESS, `127.0.0.2: exactly ${PER_ADDRESS} of 12 upgraded`);
  t.equal(refused503(a), 12 - PER_ADDRESS, 'the rest refused at the upgrade with 503');
  const spread = (await Promise.all(ux.app.root.connectionActors.map((actor) => actor.api.status()))).map((s) => s.connections);
  t.comment(`sockets per connection actor: ${spread.join(', ')}`);

  const b = await burst('127.0.0.3', 6);
  t.equal(upgraded(b), PER_ADDRESS, '127.0.0.3 has a cap of its own');
  const c = await burst('127.0.0.4', 6);
  t.equal(upgraded(c), TOTAL - 2 * PER_ADDRESS, `127.0.0.4 gets only what is left of gateway.maxConnections (${TOTAL})`);
  t.equal(refused503(c), 6 - (TOTAL - 2 * PER_ADDRESS), 'the rest refused with 503');
  const d = await burst('127.0.0.5', 3);
  t.equal(upgraded(d), 0, 'a fresh address is refused once the process is full');
  t.equal(await connections(), TOTAL, `the process holds exactly ${TOTAL} sockets`);

  // Closing gives places back, to the same address and to the process.
  const fromA = open.filter((x) => (x.ws as unknown as { _socket: { localAddress: string } })._socket?.localAddress === '127.0.0.2');
  fromA.slice(0, 2).forEach((x) => x.ws.close());
  await waitUntil(async () => (await connections()) === TOTAL - 2, 'two closes to be counted');
  const e = await burst('127.0.0.2', 4);
  t.equal(upgraded(e), 2, '127.0.0.2 gets back exactly the two places it gave up');

  recordReliability({
    kind: 'hostile',
    scenario: 'connection flood from 4 addresses (3 actors)',
    inputs: [...statuses.values()].reduce((sum, n) => sum + n, 0),
    outcome: [...statuses].map(([k, n]) => `${k}: ${n}`).join(', '),
    harmed: 0,
    note: `maxConnectionsPerAddress ${PER_ADDRESS}, maxConnections ${TOTAL}: never exceeded`,
  });
});

t.test("a crashed connection actor's sockets give their per-address places back", async (t) => {
  const ux = await startUntradexInProcess(t, {
    redis: { buckets: 2 },
    gateway: { connectionActors: 2, maxConnectionsPerAddress: PER_ADDRESS, maxConnections: 100 },
  });
  const open: WebSocket[] = [];
  t.teardown(() => open.forEach((ws) => ws.terminate()));
  const take = async (n: number) => {
    const attempts = await Promise.all(Array.from({ length: n }, () => attemptUpgrade(ux.gatewayUrl, '127.0.0.6')));
    open.push(...attempts.filter((a) => a.status === 101).map((a) => a.ws));
    return attempts.filter((a) => a.status === 101).length;
  };
  t.equal(await take(PER_ADDRESS + 2), PER_ADDRESS, 'the address is at its cap');
  const held = (await Promise.all(ux.app.root.connectionActors.map((actor) => actor.api.status()))).map((s) => s.connections);
  const victim = held[0]! > 0 ? 0 : 1;
  t.ok(held[victim]! > 0, `connection-${victim} holds ${held[victim]} of them`);
  await ux.app.root.connectionActors[victim]!.terminate();
  await waitUntil(async () => {
    const status = (await ux.api<{ actors: Array<{ id: string; status: string; restarts: number }> }>('GET', '/api/status')).body;
    const actor = status.actors.find((a) => a.id === `connection-${victim}`);
    return actor?.status === 'running' && actor.restarts === 1;
  }, 'the actor to restart');
  t.equal(await take(PER_ADDRESS), held[victim]!, `exactly the ${held[victim]} places of the crashed actor came back`);
});
