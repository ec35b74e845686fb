// The shared per-address connection table (actors/connection/address-table.ts): exact against a
// model under seeded churn with colliding probe runs, exact across real threads racing for the
// same addresses, and a dead actor's places given back by reclaim.

import { Worker } from 'node:worker_threads';
import t from 'tap';
import { addressKey } from '../../actors/connection/address-key.js';
import { AddressTable, createAddressTable, reclaimAddresses } from '../../actors/connection/address-table.js';
import { rng } from './frame-generator.js';

t.test('address keys: IPv4 and its IPv6 mapping are one source; distinct addresses differ', async (t) => {
  t.same(addressKey('127.0.0.2'), addressKey('::ffff:127.0.0.2'));
  t.same(addressKey('::ffff:7f00:2'), addressKey('127.0.0.2'));
  t.same(addressKey('fe80::1%eth0'), addressKey('fe80:0:0:0:0:0:0:1'));
  t.same(addressKey('2001:db8::1'), [0x20010db8, 0, 0, 1]);
  t.notSame(addressKey('127.0.0.2'), addressKey('127.0.0.3'));
  t.notSame(addressKey('::1'), addressKey('0.0.0.1'));
  t.notSame(addressKey('unknown'), addressKey('0.0.0.0'));
});

t.test('seeded churn on one actor matches a model exactly, through long probe runs and deletes', async (t) => {
  const random = rng(0xadd7e55);
  // 64 slots for up to 120 (address, actor) pairs: runs are long and wrap, the table fills, and
  // deletes shift entries back.
  const sab = createAddressTable(10);
  const tables = [0, 1, 2].map((actor) => new AddressTable(sab, actor));
  const addresses = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? `10.0.${i}.1` : i % 3 === 1 ? `2001:db8::${i.toString(16)}` : `::ffff:192.168.0.${i}`));
  const model = new Map<string, number[]>(addresses.map((address) => [address, [0, 0, 0]]));
  const cap = 3;
  let mismatches = 0;
  let taken = 0;
  let refused = 0;
  for (let op = 0; op < 200_000; op++) {
    const address = addresses[Math.floor(random() * addresses.length)]!;
    const actor = Math.floor(random() * 3);
    const counts = model.get(address)!;
    const total = counts[0]! + counts[1]! + counts[2]!;
    if (random() < 0.5) {
      const outcome = tables[actor]!.tryTake(address, cap);
      // An entry is one (address, actor) pair; with all 64 slots in use a new pair cannot be placed.
      let entries = 0;
      for (const c of model.values()) entries += c.filter((n) => n > 0).length;
      const want = total < cap && (counts[actor]! > 0 || entries < 64) ? 'taken' : 'full';
      if (outcome !== want) mismatches += 1;
      if (outcome === 'taken') {
        counts[actor]! += 1;
        taken += 1;
      } else refused += 1;
    } else if (counts[actor]! > 0) {
      tables[actor]!.release(address);
      counts[actor]! -= 1;
    }
    if (op % 997 === 0) {
      for (const [probe, c] of model) if (tables[0]!.countOf(probe) !== c[0]! + c[1]! + c[2]!) mismatches += 1;
    }
  }
  t.equal(mismatches, 0, `every take and every count agreed with the model (${taken} taken, ${refused} refused)`);
  t.ok(refused > 1000, 'the cap was reached many times');

  const given = reclaimAddresses(sab, 1, 3);
  let held1 = 0;
  for (const counts of model.values()) {
    held1 += counts[1]!;
    counts[1] = 0;
  }
  t.equal(given, held1, 'reclaim gave back exactly what actor 1 held');
  let wrong = 0;
  for (const [address, c] of model) if (tables[2]!.countOf(address) !== c[0]! + c[2]!) wrong += 1;
  t.equal(wrong, 0, "the other actors' places are intact after the rebuild");
});

t.test('a table with no free slot refuses instead of overflowing', async (t) => {
  const sab = createAddressTable(0);
  const table = new AddressTable(sab, 0);
  let taken = 0;
  for (let i = 0; i < 100; i++) if (table.tryTake(`10.1.${i}.1`, 5) === 'taken') taken += 1;
  t.equal(taken, 64, 'every one of the 64 slots was used, then refusals');
});

t.test('four threads racing for the same addresses never exceed the cap; a killed one is reclaimed', async (t) => {
  const actors = 4;
  const addresses = ['127.0.0.2', '127.0.0.3', '::1', '10.9.8.7', '2001:db8::42'];
  const cap = 3;
  const table = createAddressTable(1000);
  const truth = new SharedArrayBuffer(4 * addresses.length);
  const stats = new SharedArrayBuffer(16);
  const run = (actorIndex: number, holdAtEnd: boolean) =>
    new Promise<{ worker: Worker; held: string[] }>((resolve, reject) => {
      const worker = new Worker(new URL('./address-table-worker.js', import.meta.url), {
        workerData: { table, truth, stats, actorIndex, addresses, cap, operations: 150_000, seed: 1000 + actorIndex, holdAtEnd },
      });
      worker.once('message', (message: { held: string[] }) => resolve({ worker, held: message.held }));
      worker.once('error', reject);
    });
  const results = await Promise.all(Array.from({ length: actors }, (_, index) => run(index, index === 2)));
  const [violations, takes, refusals] = Array.from(new Int32Array(stats));
  t.equal(violations, 0, `no thread ever saw more than ${cap} places held for an address (${takes} takes, ${refusals} refusals)`);
  t.ok(refusals! > 1000, 'the threads fought over full addresses');

  const view = new AddressTable(table, 0);
  const heldByDead = results[2]!.held;
  t.ok(heldByDead.length > 0, `actor 2 still holds ${heldByDead.length} places`);
  const before = addresses.map((address) => view.countOf(address));
  t.same(before, addresses.map((address) => heldByDead.filter((held) => held === address).length), 'only what actor 2 holds is counted');
  await results[2]!.worker.terminate();
  for (const { worker } of results) await worker.terminate();
  t.equal(reclaimAddresses(table, 2, actors), heldByDead.length, 'reclaim gives back the dead actor’s places');
  t.same(addresses.map((address) => view.countOf(address)), addresses.map(() => 0), 'and the table is empty');
});
