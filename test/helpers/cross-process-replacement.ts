// Checks one live session per student ACROSS gateway processes: connects the same student until two
// sockets sit on different processes (the kernel picks the process), then the older must be replaced.

import type { Test } from 'tap';
import { helloRaw } from './raw-student.js';
import type { ControlClient } from './untradex.js';

type Fleet = ControlClient & { gatewayUrl: string };

async function connectionsPerProcess(ux: Fleet): Promise<Map<string, number>> {
  const status = await ux.api<{ processes: Array<{ id: string; connections: number }> }>('GET', '/api/status');
  return new Map(status.body.processes.map((process) => [process.id, process.connections]));
}

export async function assertReplacedAcrossProcesses(t: Test, ux: Fleet, token: string, attempts = 12): Promise<void> {
  let crossed = false;
  for (let attempt = 0; attempt < attempts && !crossed; attempt += 1) {
    const before = await connectionsPerProcess(ux);
    const older = await helloRaw(ux.gatewayUrl, token);
    const afterOlder = await connectionsPerProcess(ux);
    const olderOn = [...afterOlder].find(([id, count]) => count > (before.get(id) ?? 0))?.[0];
    const newer = await helloRaw(ux.gatewayUrl, token);
    const afterNewer = await connectionsPerProcess(ux);
    const newerOn = [...afterNewer].find(([id, count]) => count > (afterOlder.get(id) ?? 0) - (id === olderOn ? 1 : 0))?.[0];
    if (olderOn !== undefined && newerOn !== undefined && olderOn !== newerOn) {
      crossed = true;
      t.match(await older.student.next((frame) => frame.t === 'err'), { code: 'replaced' }, `replaced across processes (${olderOn} -> ${newerOn})`);
      t.equal((await older.student.closed).code, 4409);
    } else {
      await older.student.closed;
    }
    newer.student.close();
  }
  t.ok(crossed, 'two sockets of one student landed on different processes at least once');
}
