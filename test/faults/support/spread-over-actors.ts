// Makes sure every connection actor holds some of the load's students: a burst of connections on
// the shared listening socket can all go to whichever actor accepts first.

import type { InProcessUntradex } from '../../helpers/untradex.js';
import type { StudentLoad } from './student-load.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Drops the socket of a student on the busiest actor (it reconnects, landing on whichever actor
 * accepts first) until every actor holds at least `minEach`; resolves with the live count per actor.
 */
export async function spreadOverActors(ux: InProcessUntradex, load: StudentLoad, minEach: number, maxMoves = 400): Promise<number[]> {
  let moves = 0;
  for (;;) {
    const live = await Promise.all(ux.app.root.connectionActors.map(async (actor) => (await actor.api.status()).live));
    const settled = live.reduce((total, count) => total + count, 0) === load.students.length;
    if (settled && Math.min(...live) >= minEach) return live;
    if (moves >= maxMoves) throw new Error(`could not spread ${load.students.length} students over the actors: ${live.join(', ')}`);
    if (settled) {
      // Which actor a student is on is not visible from outside: any student is likely on the busiest.
      const ready = load.students.filter((student) => student.client.status === 'ready');
      ready[Math.floor(Math.random() * ready.length)]?.client.dropConnection();
      moves += 1;
    }
    await sleep(10);
  }
}
