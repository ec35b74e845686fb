// Every error class comes back from another thread as itself: the same class, code, message and own
// fields (`transient`, `actorId`, `reason`...), through JSON, a MessageChannel and a real worker.

import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import t, { type Test } from 'tap';
import * as errors from '../../../src/errors.js';
import { deserializeError, REBUILDABLE_ERRORS, serializeError, UntradexError, type SerializedError } from '../../../src/errors.js';
import { errorSamples } from '../../fixtures/error-samples.js';

/** Class, code, message, own fields and the cause chain: what a catch on this side may look at. */
function same(t: Test, rebuilt: unknown, original: UntradexError, where: string): void {
  t.ok(rebuilt instanceof UntradexError, `${where}: an UntradexError`);
  const error = rebuilt as UntradexError;
  t.equal(Object.getPrototypeOf(error), Object.getPrototypeOf(original), `${where}: the same class`);
  t.equal(error.code, original.code, `${where}: the code`);
  t.equal(error.name, original.name, `${where}: the name`);
  t.equal(error.message, original.message, `${where}: the message`);
  t.same({ ...error }, { ...original }, `${where}: the own fields`);
  if (original.cause instanceof UntradexError) same(t, error.cause, original.cause, `${where} (cause)`);
  else if (original.cause instanceof Error) t.equal((error.cause as Error).message, original.cause.message, `${where}: the plain cause's message`);
  else t.equal(error.cause, undefined, `${where}: no cause`);
}

function label(error: UntradexError): string {
  return `${error.name} ${error.code}`;
}

t.test('the samples cover every exported error class, and the registry rebuilds each', async (t) => {
  const classes = Object.entries(errors)
    .filter(([, value]) => typeof value === 'function' && (value === UntradexError || Object.prototype.isPrototypeOf.call(UntradexError.prototype, value.prototype)))
    .map(([name]) => name)
    .sort();
  t.same([...new Set(errorSamples().map((error) => error.name))].sort(), classes, 'one sample at least per class');
  t.same([...REBUILDABLE_ERRORS, 'UntradexError'].sort(), classes, 'every subclass is in the registry');
});

t.test('through JSON', async (t) => {
  for (const original of errorSamples()) same(t, deserializeError(JSON.parse(JSON.stringify(serializeError(original))) as SerializedError), original, label(original));
});

t.test('through a MessageChannel (structured clone), keeping the stack', async (t) => {
  const { port1, port2 } = new MessageChannel();
  t.teardown(() => port1.close());
  const originals = errorSamples();
  port1.postMessage(originals.map((error) => serializeError(error)));
  const [received] = (await once(port2, 'message')) as [SerializedError[]];
  t.equal(received.length, originals.length);
  originals.forEach((original, index) => {
    const rebuilt = deserializeError(received[index]!);
    same(t, rebuilt, original, label(original));
    t.equal(rebuilt.stack, original.stack, `${label(original)}: the stack of where it was thrown`);
  });
});

t.test('from a worker thread that built them itself', async (t) => {
  // Plain compiled JavaScript, as actors run (the test runner's loader hooks cost a second a thread).
  const worker = new Worker(new URL('../../fixtures/error-samples.js', import.meta.url), { execArgv: [] });
  t.teardown(() => worker.terminate());
  const [received] = (await once(worker, 'message')) as [SerializedError[]];
  const originals = errorSamples();
  t.equal(received.length, originals.length);
  originals.forEach((original, index) => same(t, deserializeError(received[index]!), original, label(original)));
  const sink = deserializeError(received.find((plain) => plain.name === 'SinkError')!);
  t.match(sink.stack, /at errorSamples .*error-samples\.[jt]s/, 'the rebuilt stack names the worker-side frames');
});

t.test('what the registry cannot rebuild comes back as the base class with its code', async (t) => {
  const plain = deserializeError(serializeError(new TypeError('not ours')));
  t.equal(Object.getPrototypeOf(plain), UntradexError.prototype);
  t.equal(plain.code, 'UX_ERR_ACTOR_CRASHED', 'a thrown non-Untradex error counts as a crash');
  t.equal(plain.message, 'not ours');

  const sink = serializeError(new errors.SinkError(true, 'reset'));
  const unknownClass = deserializeError({ ...sink, name: 'SinkErrorFromTheFuture' });
  t.equal(Object.getPrototypeOf(unknownClass), UntradexError.prototype, 'an unknown class name');
  t.equal(unknownClass.code, 'UX_ERR_SINK_TRANSIENT');
  const badField = deserializeError({ ...sink, fields: { transient: 'yes' } });
  t.equal(Object.getPrototypeOf(badField), UntradexError.prototype, 'a field of the wrong type');
  const wrongCode = deserializeError({ ...sink, code: 'UX_ERR_SINK_PERMANENT' });
  t.equal(Object.getPrototypeOf(wrongCode), UntradexError.prototype, 'fields that contradict the code');
  t.equal(wrongCode.code, 'UX_ERR_SINK_PERMANENT');
});

t.test('toJSON leaves the stack out: it is for logs, not replies', async (t) => {
  const json = JSON.parse(JSON.stringify(new errors.SinkError(true, 'reset'))) as SerializedError;
  t.same(json, { code: 'UX_ERR_SINK_TRANSIENT', message: 'reset', name: 'SinkError', fields: { transient: true } });
});
