// Live student sockets per source address, shared by every connection actor of a gateway process,
// so gateway.maxConnectionsPerAddress holds exactly for the process whichever actor accepts.

import { addressKey, type AddressKey } from './address-key.js';

// Layout, Int32 words. Header: the lock (0 free, else the holder's id), the number of slots.
// Then an open-addressing table (linear probing) of entries keyed by (address, actor): the
// actor is part of the key so a dead actor's sockets can be given back. All of one address's
// entries sit in the probe run from the address's home slot, so one walk sums them.
const LOCK = 0;
const SLOTS = 1;
const HEADER_WORDS = 4;
const ENTRY_WORDS = 6; // address words 0-3, owner (actor index + 1; 0 = empty), count
const OWNER = 4;
const COUNT = 5;
const MAX_SLOTS = 1 << 20;
/** An actor waits this long for the lock, then refuses the upgrade (the client retries). */
const LOCK_WAIT_MS = 20;
/** The supervisor, reclaiming for a dead actor, waits this long before it breaks the lock. */
const RECLAIM_LOCK_WAIT_MS = 1_000;
const RELEASE_RETRY_MS = 5;

/**
 * Allocates the table: twice as many slots as sockets can be live at once (`maxSockets`), so
 * probe runs stay short; a minimal table when there is no per-address cap.
 */
export function createAddressTable(maxSockets: number): SharedArrayBuffer {
  let slots = 64;
  while (slots < 2 * maxSockets && slots < MAX_SLOTS) slots *= 2;
  const sab = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (HEADER_WORDS + slots * ENTRY_WORDS));
  new Int32Array(sab)[SLOTS] = slots;
  return sab;
}

export type TakeOutcome = 'taken' | 'full' | 'busy';

/**
 * One connection actor's view. Every read and write of entries happens under a small lock (an
 * Int32 taken with Atomics.compareExchange, waited on with Atomics.wait): entries move on delete,
 * and a cap is only exact if counting and taking are one step. The lock is held for one probe
 * walk, a few microseconds, and only at upgrades and closes, never per event.
 */
export class AddressTable {
  private readonly words: Int32Array;
  private readonly mask: number;
  private readonly id: number;
  private readonly pending: AddressKey[] = [];
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(sab: SharedArrayBuffer, actorIndex: number) {
    this.words = new Int32Array(sab);
    this.mask = this.words[SLOTS]! - 1;
    this.id = actorIndex + 1;
  }

  /** Takes a place for one more socket from `address` if the process holds fewer than `cap`. */
  tryTake(address: string, cap: number): TakeOutcome {
    const key = addressKey(address);
    if (!acquire(this.words, this.id, LOCK_WAIT_MS)) return 'busy';
    try {
      this.applyPending();
      const walk = findRun(this.words, this.mask, key, this.id);
      if (walk.total >= cap) return 'full';
      if (walk.mine >= 0) {
        this.words[entry(walk.mine) + COUNT]! += 1;
        return 'taken';
      }
      if (walk.empty < 0) return 'full'; // every slot in use: more live addresses than the table was sized for
      writeEntry(this.words, walk.empty, key, this.id, 1);
      return 'taken';
    } finally {
      release(this.words, this.id);
    }
  }

  /** Gives back a place; if the lock is busy the release is kept and retried shortly. */
  release(address: string): void {
    this.pending.push(addressKey(address));
    this.flush();
  }

  /** Live sockets from `address` across every actor (for status and tests). */
  countOf(address: string): number {
    const key = addressKey(address);
    if (!acquire(this.words, this.id, LOCK_WAIT_MS)) return -1;
    try {
      this.applyPending();
      return findRun(this.words, this.mask, key, this.id).total;
    } finally {
      release(this.words, this.id);
    }
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    if (acquire(this.words, this.id, 0)) {
      try {
        this.applyPending();
      } finally {
        release(this.words, this.id);
      }
      return;
    }
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = null;
      this.flush();
    }, RELEASE_RETRY_MS);
    this.retryTimer.unref();
  }

  /** Caller holds the lock. */
  private applyPending(): void {
    for (const key of this.pending.splice(0)) {
      const slot = findRun(this.words, this.mask, key, this.id).mine;
      if (slot < 0) continue; // nothing held: never taken, or already given back by a reclaim
      const at = entry(slot) + COUNT;
      this.words[at]! -= 1;
      if (this.words[at]! <= 0) deleteSlot(this.words, this.mask, slot);
    }
  }
}

/**
 * Gives back every place connection actor `actorIndex` held: its sockets closed with its thread,
 * but its close handlers never ran. Call from the owner of the table once that thread is gone,
 * before its next incarnation starts. Returns how many places were given back.
 */
export function reclaimAddresses(sab: SharedArrayBuffer, actorIndex: number, connectionActors: number): number {
  const words = new Int32Array(sab);
  const dead = actorIndex + 1;
  const self = connectionActors + 1; // the supervisor's lock id, never an actor's
  // The dead actor may have died holding the lock: it can never release it, so take it over.
  if (Atomics.compareExchange(words, LOCK, dead, self) !== dead && !acquire(words, self, RECLAIM_LOCK_WAIT_MS)) {
    // Held past any real critical section: its holder died too and awaits its own reclaim.
    Atomics.store(words, LOCK, self);
  }
  try {
    const slots = words[SLOTS]!;
    const keep: Array<[AddressKey, number, number]> = [];
    let given = 0;
    for (let slot = 0; slot < slots; slot++) {
      const at = entry(slot);
      const owner = words[at + OWNER]!;
      if (owner === 0) continue;
      if (owner === dead) given += words[at + COUNT]!;
      else keep.push([[words[at]!, words[at + 1]!, words[at + 2]!, words[at + 3]!], owner, words[at + COUNT]!]);
    }
    if (given === 0) return 0;
    // Rebuilding keeps every probe run intact without reasoning about deletes mid-scan.
    words.fill(0, HEADER_WORDS);
    const mask = slots - 1;
    for (const [key, owner, count] of keep) writeEntry(words, findRun(words, mask, key, owner).empty, key, owner, count);
    return given;
  } finally {
    release(words, self);
  }
}

function entry(slot: number): number {
  return HEADER_WORDS + slot * ENTRY_WORDS;
}

function homeSlot(key: AddressKey, mask: number): number {
  // murmur3's finalizer over the words mixed together: nearby addresses land far apart.
  let h = key[0] ^ Math.imul(key[1], 0x9e3779b1) ^ Math.imul(key[2], 0x85ebca77) ^ Math.imul(key[3], 0xc2b2ae3d);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & mask;
}

function sameAddress(words: Int32Array, at: number, key: AddressKey): boolean {
  return words[at] === key[0] && words[at + 1] === key[1] && words[at + 2] === key[2] && words[at + 3] === key[3];
}

/** Walks the probe run of `key`: the address's total, the slot `owner` holds, the first free slot. */
function findRun(words: Int32Array, mask: number, key: AddressKey, owner: number): { total: number; mine: number; empty: number } {
  let total = 0;
  let mine = -1;
  for (let slot = homeSlot(key, mask), probes = 0; probes <= mask; slot = (slot + 1) & mask, probes++) {
    const at = entry(slot);
    const holder = words[at + OWNER]!;
    if (holder === 0) return { total, mine, empty: slot };
    if (sameAddress(words, at, key)) {
      total += words[at + COUNT]!;
      if (holder === owner) mine = slot;
    }
  }
  return { total, mine, empty: -1 };
}

function writeEntry(words: Int32Array, slot: number, key: AddressKey, owner: number, count: number): void {
  const at = entry(slot);
  words.set(key, at);
  words[at + OWNER] = owner;
  words[at + COUNT] = count;
}

/** Backward-shift deletion: pulls later entries of the run back so no lookup stops early. */
function deleteSlot(words: Int32Array, mask: number, slot: number): void {
  let hole = slot;
  // A run ends at a free slot; a table with none ends after one lap.
  for (let next = (hole + 1) & mask, steps = 0; steps < mask; next = (next + 1) & mask, steps++) {
    const at = entry(next);
    if (words[at + OWNER] === 0) break;
    const home = homeSlot([words[at]!, words[at + 1]!, words[at + 2]!, words[at + 3]!], mask);
    // The entry at `next` may move into the hole only if its home is not in (hole, next].
    const between = hole <= next ? home > hole && home <= next : home > hole || home <= next;
    if (between) continue;
    words.copyWithin(entry(hole), at, at + ENTRY_WORDS);
    hole = next;
  }
  words.fill(0, entry(hole), entry(hole) + ENTRY_WORDS);
}

function acquire(words: Int32Array, id: number, waitMs: number): boolean {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const seen = Atomics.compareExchange(words, LOCK, 0, id);
    if (seen === 0) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(words, LOCK, seen, Math.min(1, left));
  }
}

function release(words: Int32Array, id: number): void {
  if (Atomics.compareExchange(words, LOCK, id, 0) === id) Atomics.notify(words, LOCK);
}
