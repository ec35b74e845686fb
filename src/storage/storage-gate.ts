// Rule S3's switch between the disk watcher (main thread) and the Redis writers: one Int32 in a
// SharedArrayBuffer handed to every writer at spawn; closed, the writers take nothing from the rings.

const OPEN = 0;
const CLOSED = 1;

export function createStorageGate(): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
}

export function setStorageOpen(gate: SharedArrayBuffer, open: boolean): void {
  Atomics.store(new Int32Array(gate), 0, open ? OPEN : CLOSED);
}

/** True unless the watcher closed the gate (no gate at all: always open). */
export function storageOpen(gate: SharedArrayBuffer | undefined): boolean {
  return gate === undefined || Atomics.load(new Int32Array(gate), 0) === OPEN;
}
