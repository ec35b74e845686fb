// Sockets are addressed in ring records by (slot, generation): a reused slot gets a new
// generation, so an ack that arrives for a socket already gone can never reach its successor.

export class SlotTable<T> {
  private readonly items: (T | undefined)[] = [];
  private readonly generations: number[] = [];
  private readonly free: number[] = [];
  private count = 0;
  private readonly occupiedListeners: Array<() => void> = [];

  /**
   * Calls `listener` each time the table goes from empty to holding an item: what sleeps while an
   * actor holds no socket (the liveness sweep) wakes up here.
   */
  onOccupied(listener: () => void): void {
    this.occupiedListeners.push(listener);
  }

  add(item: T): { slot: number; generation: number } {
    const slot = this.free.pop() ?? this.items.length;
    const generation = ((this.generations[slot] ?? 0) + 1) >>> 0;
    this.generations[slot] = generation;
    this.items[slot] = item;
    this.count += 1;
    if (this.count === 1) for (const listener of this.occupiedListeners) listener();
    return { slot, generation };
  }

  get(slot: number, generation: number): T | undefined {
    return this.generations[slot] === generation ? this.items[slot] : undefined;
  }

  remove(slot: number, generation: number): void {
    if (this.generations[slot] !== generation || this.items[slot] === undefined) return;
    this.items[slot] = undefined;
    this.free.push(slot);
    this.count -= 1;
  }

  /** Slots ever used (live or free): the bound for walking the table by index with at(). */
  get capacity(): number {
    return this.items.length;
  }

  /** The item in `slot`, if one lives there now. */
  at(slot: number): T | undefined {
    return this.items[slot];
  }

  get size(): number {
    return this.count;
  }

  *values(): IterableIterator<T> {
    for (const item of this.items) if (item !== undefined) yield item;
  }
}
