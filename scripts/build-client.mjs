// Bundles the browser client into dist/client/untradex.js (one ES module with no imports), the
// example exam page's script into dist/pages/exam/exam.js, which loads the client as served, and the
// operator console's script (uPlot inside) into dist/pages/console/console.js, beside uPlot's styles.

import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const banner = '// Untradex browser client (docs/PROTOCOL.md section 7). Apache-2.0. Built from src/client/browser/untradex.ts.';

await build({
  entryPoints: ['src/client/browser/untradex.ts'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  outfile: 'dist/client/untradex.js',
  banner: { js: banner },
  legalComments: 'eof',
  logLevel: 'warning',
});

// The page is built only on the client the gateway serves: its import of the client stays an import of /client/untradex.js.
const servedClient = {
  name: 'served-client',
  setup(b) {
    b.onResolve({ filter: /client\/browser\/untradex\.js$/ }, () => ({ path: '/client/untradex.js', external: true }));
  },
};

await build({
  entryPoints: ['src/pages/exam/exam-page.ts'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  outfile: 'dist/pages/exam/exam.js',
  plugins: [servedClient],
  logLevel: 'warning',
});

// The console is served by the control port from the package alone (no CDN): uPlot is bundled in.
await build({
  entryPoints: ['src/pages/console/console-page.ts'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  outfile: 'dist/pages/console/console.js',
  legalComments: 'eof',
  logLevel: 'warning',
});
await mkdir('dist/pages/console', { recursive: true });
await copyFile(createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css'), 'dist/pages/console/uplot.css');
