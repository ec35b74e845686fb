// The error codes in src/errors.ts and the table in docs/ERRORS.md must list the same codes, and
// errors must keep their code (and their class) across a thread boundary.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../../src/config/load-config.js';
import { ConfigError, deserializeError, ERROR_CODES, serializeError, SinkError, UntradexError } from '../../../src/errors.js';

t.test('docs/ERRORS.md lists exactly the codes of ERROR_CODES', async (t) => {
  const doc = readFileSync(join(packageRoot(), 'docs', 'ERRORS.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(UX_ERR_[A-Z_]+)` \|/gm)].map((match) => match[1]).sort();
  t.same(documented, Object.keys(ERROR_CODES).sort());
});

t.test('errors keep their code across a thread boundary', async (t) => {
  const original = new SinkError(true, 'connection reset', { cause: new ConfigError('export.postgres.url', 'bad') });
  const rebuilt = deserializeError(JSON.parse(JSON.stringify(serializeError(original))));
  t.equal(rebuilt.code, 'UX_ERR_SINK_TRANSIENT');
  t.equal((rebuilt.cause as UntradexError).code, 'UX_ERR_CONFIG');
  t.ok(rebuilt instanceof UntradexError);
});

t.test('instanceof tells the subclasses apart', async (t) => {
  const config = new ConfigError('gateway.port', 'bad');
  t.ok(config instanceof UntradexError);
  t.ok(config instanceof ConfigError);
  t.notOk(config instanceof SinkError, 'a ConfigError is not a SinkError');
  t.notOk(new Error('plain') instanceof UntradexError);
});
