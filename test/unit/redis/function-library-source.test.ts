// The Lua library and the TypeScript that reads its replies share numbers and names: the outcome
// codes of ux_write and the pub/sub channels. Each has one owner on the TypeScript side; this checks the Lua agrees.

import t from 'tap';
import { WriteOutcome } from '../../../src/events/answer-event.js';
import { CHANNEL_CLOSED, CHANNEL_SESSIONS } from '../../../src/redis/bucket-keys.js';
import { LIBRARY_SOURCE, LIBRARY_VERSION } from '../../../src/redis/function-library.js';

/** Reads `local A, B = 1, 2` (or `local A = 'x'`) of the library into a map. */
function luaLocals(source: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of source.matchAll(/^local ([A-Z_][A-Z0-9_, ]*) = (.+)$/gm)) {
    const names = match[1]!.split(',').map((name) => name.trim());
    const values = match[2]!.split(',').map((value) => value.trim().replace(/^'(.*)'$/, '$1'));
    names.forEach((name, index) => found.set(name, values[index] ?? ''));
  }
  return found;
}

const locals = luaLocals(LIBRARY_SOURCE);

t.test('ux_write answers with the numbers of WriteOutcome', async (t) => {
  const pairs: Array<[string, number]> = [
    ['STORED', WriteOutcome.Stored],
    ['DUPLICATE', WriteOutcome.Duplicate],
    ['EXAM_CLOSED', WriteOutcome.ExamClosed],
    ['SUBMITTED', WriteOutcome.Submitted],
    ['STALE_SESSION', WriteOutcome.StaleSession],
  ];
  for (const [name, value] of pairs) t.equal(locals.get(name), String(value), `${name} is WriteOutcome's ${value}`);
  const luaOutcomes = new Set(pairs.map(([, value]) => value));
  const writerOnly = Object.entries(WriteOutcome).filter(([, value]) => !luaOutcomes.has(value));
  t.same(writerOnly.map(([name]) => name).sort(), ['BadEvent', 'Unavailable'], 'the other outcomes are the writer\'s own verdicts, never a Redis reply');
});

t.test('the channels and the version are the ones the TypeScript side uses', async (t) => {
  t.equal(locals.get('CHANNEL_SESSIONS'), CHANNEL_SESSIONS);
  t.equal(locals.get('CHANNEL_CLOSED'), CHANNEL_CLOSED);
  t.equal(locals.get('VERSION'), String(LIBRARY_VERSION));
  t.ok(LIBRARY_VERSION >= 5, `version ${LIBRARY_VERSION}`);
});
