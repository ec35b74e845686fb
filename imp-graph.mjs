import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
const seen = new Set(); const pkgs = new Map();
function walk(file, chain) {
  if (seen.has(file)) return; seen.add(file);
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
    const spec = m[1];
    if (/^(import|export) type/.test(m[0])) continue;
    if (spec.startsWith('.')) walk(resolve(dirname(file), spec), [...chain, file.replace('/work/main/dist/','')]);
    else if (!spec.startsWith('node:') && !pkgs.has(spec)) pkgs.set(spec, [...chain, file.replace('/work/main/dist/','')].slice(-3).join(' < '));
  }
}
walk(resolve(process.argv[2]), []);
for (const [p, f] of pkgs) console.log(p.padEnd(45), f);
