// The final table names of docs/PROTOCOL.md section 5 for a configured prefix, per SQL dialect.
// The prefix is validated here too, because it is the one piece of SQL that cannot be bound.

import { ConfigError } from '../errors.js';

/** Same rule as the config schema's `export.tablePrefix`. */
export const TABLE_PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,20}$/;

export interface TableNames {
  readonly answers: string;
  readonly events: string;
  readonly submissions: string;
}

/**
 * Lower case for SQLite and PostgreSQL; upper case for Oracle, which folds unquoted names to
 * upper case (so the tables read as UX_ANSWERS there, as section 5 says).
 */
export function tableNames(prefix: string, letterCase: 'lower' | 'upper'): TableNames {
  if (!TABLE_PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError('export.tablePrefix', `"${prefix}" is not a letter followed by up to 20 letters, digits or _`);
  }
  const p = letterCase === 'lower' ? prefix.toLowerCase() : prefix.toUpperCase();
  const name = (base: string): string => (letterCase === 'lower' ? `${p}${base}` : `${p}${base.toUpperCase()}`);
  return { answers: name('answers'), events: name('events'), submissions: name('submissions') };
}
