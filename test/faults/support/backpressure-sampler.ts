// Samples the in-process gateway while a fault runs: how many sockets are paused behind full
// rings and how full the writers' rings are, so a test can wait for (and report) the backpressure.

import type { InProcessUntradex } from '../../helpers/untradex.js';

export interface Backpressure {
  blocked: number;
  ringUsedBytes: number;
}

export async function backpressure(ux: InProcessUntradex): Promise<Backpressure> {
  const [connections, writers] = await Promise.all([
    Promise.all(ux.app.root.connectionActors.map((actor) => actor.api.status())),
    Promise.all(ux.app.root.writerActors.map((writer) => writer.api.status())),
  ]);
  return {
    blocked: connections.reduce((total, status) => total + status.blocked, 0),
    ringUsedBytes: writers.reduce((total, status) => total + status.ringUsedBytes.reduce((sum, bytes) => sum + bytes, 0), 0),
  };
}

/** Polls backpressure() until stop(); stop() resolves with the largest values seen. */
export function sampleBackpressure(ux: InProcessUntradex, everyMs = 10): { stop(): Promise<Backpressure> } {
  const peak: Backpressure = { blocked: 0, ringUsedBytes: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const now = await backpressure(ux);
      peak.blocked = Math.max(peak.blocked, now.blocked);
      peak.ringUsedBytes = Math.max(peak.ringUsedBytes, now.ringUsedBytes);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}
