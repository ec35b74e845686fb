import t from 'tap';
import { LivenessSweep, type Pingable } from '../../../actors/connection/liveness-sweep.js';
import { SlotTable } from '../../../actors/connection/slot-table.js';

class FakeSocket implements Pingable {
  alive = true;
  heard = false;
  pings = 0;
  terminated = false;
  readonly ws = {
    ping: () => {
      this.pings += 1;
    },
    terminate: () => {
      this.terminated = true;
    },
  };
}

function table(n: number): { slots: SlotTable<FakeSocket>; sockets: FakeSocket[] } {
  const slots = new SlotTable<FakeSocket>();
  const sockets = Array.from({ length: n }, () => new FakeSocket());
  for (const socket of sockets) slots.add(socket);
  return { slots, sockets };
}

t.test('every socket gets exactly one ping per interval, spread over the ticks', async (t) => {
  const { slots, sockets } = table(10_000);
  const sweep = new LivenessSweep(slots, 30_000);
  t.equal(sweep.tickMs, 300);
  const ticksPerInterval = 30_000 / sweep.tickMs;
  let most = 0;
  for (let tick = 0; tick < ticksPerInterval; tick++) {
    for (const socket of sockets) socket.alive = true; // every client answers
    most = Math.max(most, sweep.tick());
  }
  t.same(new Set(sockets.map((socket) => socket.pings)), new Set([1]), 'one ping each');
  t.equal(most, 100, 'no tick pings more than 1/100 of the table');
  t.notOk(sockets.some((socket) => socket.terminated));
});

t.test('a socket that did not answer the previous ping is terminated on the next visit', async (t) => {
  const { slots, sockets } = table(50);
  const sweep = new LivenessSweep(slots, 1_000);
  const silent = sockets[7]!;
  for (let tick = 0; tick < 200; tick++) {
    for (const socket of sockets) if (socket !== silent) socket.alive = true;
    sweep.tick();
  }
  t.ok(silent.terminated, 'the silent socket is terminated');
  t.equal(silent.pings, 1, 'after exactly one unanswered ping');
  t.notOk(sockets.some((socket) => socket !== silent && socket.terminated), 'answering sockets stay');
});

t.test('a socket heard from since its last visit is not pinged; once silent it is pinged, then dropped', async (t) => {
  const { slots, sockets } = table(50);
  const sweep = new LivenessSweep(slots, 1_000);
  const ticksPerInterval = 1_000 / sweep.tickMs;
  const talker = sockets[3]!;
  const quitter = sockets[9]!;
  const others = sockets.filter((socket) => socket !== talker && socket !== quitter);
  // The talker sends a frame every tick and never answers a ping (as a client whose pongs are lost);
  // the quitter talks for three intervals, then goes silent for good.
  let pingedAt = -1;
  let droppedAt = -1;
  for (let tick = 0; tick < ticksPerInterval * 7; tick++) {
    talker.heard = true;
    if (tick < ticksPerInterval * 3) quitter.heard = true;
    for (const socket of others) socket.alive = true;
    sweep.tick();
    if (pingedAt < 0 && quitter.pings > 0) pingedAt = tick;
    if (droppedAt < 0 && quitter.terminated) droppedAt = tick;
  }
  t.equal(talker.pings, 0, 'a socket that keeps talking is never pinged');
  t.notOk(talker.terminated, 'nor dropped, though it never answered a ping');
  t.ok(pingedAt >= ticksPerInterval * 3 && pingedAt < ticksPerInterval * 5, `the quitter is pinged at a visit after its last frame (tick ${pingedAt})`);
  t.equal(droppedAt - pingedAt, ticksPerInterval, 'and dropped at the visit after that: one unanswered ping, as a socket that never spoke');
  t.equal(quitter.pings, 1);
  t.same(new Set(others.map((socket) => socket.pings)), new Set([7]), 'the sockets that said nothing got one ping per interval');
});

t.test('a table smaller than the tick count is still walked once per interval; free slots are skipped', async (t) => {
  const { slots, sockets } = table(6);
  slots.remove(2, 1);
  const sweep = new LivenessSweep(slots, 1_000);
  const ticksPerInterval = 1_000 / sweep.tickMs;
  for (let tick = 0; tick < ticksPerInterval * 3; tick++) {
    for (const socket of sockets) socket.alive = true;
    sweep.tick();
  }
  t.same(sockets.map((socket) => socket.pings), [3, 3, 0, 3, 3, 3], 'three intervals, three pings each; the freed slot none');
});

t.test('an empty table is a no-op', async (t) => {
  t.equal(new LivenessSweep(new SlotTable<FakeSocket>(), 1_000).tick(), 0);
});

t.test('the sweep sleeps while the table is empty and wakes with the first socket', async (t) => {
  const slots = new SlotTable<FakeSocket>();
  const sweep = new LivenessSweep(slots, 1_000);
  t.teardown(() => sweep.stop());
  sweep.start();
  t.notOk(sweep.ticking, 'no socket: no timer');
  const socket = new FakeSocket();
  const { slot, generation } = slots.add(socket);
  t.ok(sweep.ticking, 'the first socket starts it');
  for (let waited = 0; socket.pings === 0 && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(socket.pings, 1, 'and it pings as before');
  slots.remove(slot, generation);
  await new Promise((resolve) => setTimeout(resolve, 3 * sweep.tickMs));
  t.notOk(sweep.ticking, 'the last socket gone, it sleeps again');
  sweep.stop();
  slots.add(new FakeSocket());
  t.notOk(sweep.ticking, 'a stopped sweep stays stopped');
});
