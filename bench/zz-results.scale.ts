// Runs last (tap takes the files in name order): regenerates bench/RESULTS.md from the JSON the
// other benchmarks of this run wrote, so no published figure is ever typed by hand.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import './support/untapped.js';
import t from 'tap';
import { packageRoot } from '../src/config/load-config.js';

const output = execFileSync(process.execPath, [join(packageRoot(), 'scripts', 'bench-results.mjs')], { encoding: 'utf8' });
t.comment(output.trim());
t.match(output, /^wrote .*RESULTS\.md/, 'bench/RESULTS.md regenerated');
