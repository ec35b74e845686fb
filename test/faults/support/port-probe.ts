// Keeps opening student connections (hello, welcome, close) while a fault runs, to show the
// gateway port never refuses a connection: a refused TCP connect is what a closed port looks like.

import { WebSocket } from 'ws';

export interface ProbeResult {
  attempts: number;
  welcomed: number;
  /** The TCP connection was refused: the port was closed. */
  refused: number;
  /** Accepted, then closed before a welcome (e.g. by the crashing actor). */
  cut: number;
  /** Probes that started while `duringFault()` said the fault was under way, and were welcomed. */
  welcomedDuringFault: number;
}

function probeOnce(url: string, token: string): Promise<'welcomed' | 'refused' | 'cut'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 5_000 });
    let settled = false;
    const done = (outcome: 'welcomed' | 'refused' | 'cut') => {
      if (settled) return;
      settled = true;
      ws.terminate();
      resolve(outcome);
    };
    ws.on('open', () => ws.send(JSON.stringify({ t: 'hello', token })));
    ws.on('message', (data) => done((JSON.parse(data.toString()) as { t: string }).t === 'welcome' ? 'welcomed' : 'cut'));
    ws.on('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'refused' : 'cut'));
    ws.on('close', () => done('cut'));
  });
}

/** Runs `parallel` probe loops until stop() is called; stop() resolves with the counts. */
export function probePort(url: string, tokens: string[], duringFault: () => boolean): { stop(): Promise<ProbeResult> } {
  const result: ProbeResult = { attempts: 0, welcomed: 0, refused: 0, cut: 0, welcomedDuringFault: 0 };
  let running = true;
  const loops = tokens.map(async (token) => {
    while (running) {
      const during = duringFault();
      result.attempts += 1;
      const outcome = await probeOnce(url, token);
      result[outcome] += 1;
      if (outcome === 'welcomed' && during && duringFault()) result.welcomedDuringFault += 1;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}
