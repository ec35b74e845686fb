// A promise with its resolve and reject exposed, for waits the client settles from events
// (the first welcome, an empty outbox).

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The client may reject before anyone awaits (a stop); the caller still gets the rejection
  // when it awaits, and the process is not taken down by an unhandled rejection meanwhile.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
