// What every result sink keeps of its bucket writes, and how it closes: new work is refused once
// close() began, writes still open are rolled back, the connection released, the first failure thrown.

import { SinkError } from '../errors.js';
import type { BucketWrite, SinkKind } from './result-sink.js';
import { toSinkError } from './sink-errors.js';

export class OpenBucketWrites {
  readonly #kind: SinkKind;
  readonly #open = new Set<BucketWrite>();
  #closed = false;

  constructor(kind: SinkKind) {
    this.#kind = kind;
  }

  /** Throws the sink's refusal of `doing` (e.g. `beginning exam E1 bucket 7`) once close() began. */
  refuseIfClosed(doing: string): void {
    if (this.#closed) throw new SinkError(false, `${this.#kind} sink: ${doing} refused: the sink is closed`);
  }

  /** Keeps `write` until it finishes; a sink closing meanwhile rolls it back. */
  add<W extends BucketWrite>(write: W): W {
    this.#open.add(write);
    return write;
  }

  /** A write's onFinished: committed, rolled back or failed, it is no longer the sink's to roll back. */
  readonly finished = (write: BucketWrite): void => {
    this.#open.delete(write);
  };

  /**
   * The sink's close(), idempotent: rolls back every write still open, then `release`s the sink's
   * connections even if a rollback failed, and throws the first failure as the sink's error.
   */
  async close(release: () => Promise<void> | void, doing = 'closing'): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const failures: unknown[] = [];
    for (const write of [...this.#open]) await write.rollback().catch((err: unknown) => failures.push(err));
    try {
      await release();
    } catch (err) {
      failures.push(err);
    }
    if (failures.length > 0) throw toSinkError(this.#kind, failures[0], doing);
  }
}
