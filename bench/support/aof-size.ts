// How much disk an exam takes: the size of the embedded Redis's append-only files under dataDir,
// read before and after a run, so docs/DEPLOYMENT.md's sizing advice rests on a measured figure.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultWriter } from './results.js';

/** Bytes of every file of the AOF (base, increments, manifest) in `<dataDir>/redis/appendonlydir`. */
export function aofBytes(dataDir: string): number {
  const dir = join(dataDir, 'redis', 'appendonlydir');
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  return total;
}

/** Adds the AOF growth of a run, per acked event and per student, to the results. */
export function addDiskFigures(result: ResultWriter, idPrefix: string, grownBytes: number, ackedEvents: number, students: number): void {
  const perEvent = ackedEvents === 0 ? 0 : grownBytes / ackedEvents;
  result.add({ id: `${idPrefix}.aofPerEvent`, label: 'AOF bytes per acked event (disk an exam needs)', value: Math.round(perEvent), unit: 'B', better: 'lower' });
  result.add({ id: `${idPrefix}.aofPerStudent`, label: 'AOF bytes per student over the run', value: Math.round(students === 0 ? 0 : grownBytes / students), unit: 'B', better: 'lower' });
  result.note(
    `Disk: the AOF grew ${(grownBytes / 1024 / 1024).toFixed(1)} MiB for ${ackedEvents} acked events of ${students} students ` +
      `(${Math.round(perEvent)} B per event, hello and session records included); docs/DEPLOYMENT.md turns this into sizing advice.`,
  );
}
