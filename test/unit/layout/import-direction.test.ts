// The folders build on each other in one direction: src/ <- actors/ <- supervisors/ <- app/. A
// module that imports upward (src reaching for a supervisor, a supervisor for the app) fails here.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../../src/config/load-config.js';

const root = packageRoot();
/** Each folder, with the folders it must never import from or name by URL. */
const ABOVE: Record<string, string[]> = {
  src: ['actors', 'supervisors', 'app'],
  actors: ['supervisors', 'app'],
  supervisors: ['app'],
};
const SPECIFIER = /(?:from\s+|import\(\s*|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

for (const [folder, above] of Object.entries(ABOVE)) {
  t.test(`${folder}/ reaches nothing in ${above.join(', ')}`, async (t) => {
    const upward: string[] = [];
    for (const file of sources(join(root, folder))) {
      for (const [, specifier] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
        const target = relative(root, resolve(dirname(file), specifier!)).split('/')[0]!;
        if (above.includes(target)) upward.push(`${relative(root, file)} -> ${specifier}`);
      }
    }
    t.same(upward, []);
  });
}
