// `untradex status` and `untradex exams`: the system's figures and the exam list from the control
// API, as text for a person or as the API's JSON for a script (--json).

import type { ActorReport, ExamSummary, SystemStatus } from '../../../src/control/control-backend.js';
// The console's byte format, so the CLI and the console write the same free space alike.
import { formatBytes } from '../../../src/pages/console/figure-format.js';
import type { ControlApiClient } from '../control-api-client.js';
import { formatCell, renderTable } from '../text-table.js';

export async function runStatus(api: ControlApiClient, options: { json?: boolean }): Promise<void> {
  const status = await api.get<SystemStatus>('/api/status');
  if (options.json === true) {
    process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    return;
  }
  const { connections, events, rings, redis, storage, sink } = status;
  const lines = [
    `Untradex ${status.state} at ${api.url}, up ${duration(status.uptimeSeconds)}`,
    `  connections  ${formatCell(connections.live)} live of ${formatCell(connections.total)} (${formatCell(connections.blocked)} paused by a full ring, ${formatCell(connections.unwelcomed)} not welcomed yet)`,
    `  events       ${formatCell(events.stored)} stored, ${events.perSecond.toFixed(1)}/s; ${formatCell(events.duplicates)} duplicates, ${formatCell(events.refused)} refused`,
    `  rings        ${(rings.fill * 100).toFixed(1)}% full`,
    `  redis        ${redis.status} (${redis.embedded ? 'embedded' : redis.target}, appendfsync ${redis.appendfsync})`,
  ];
  if (storage !== undefined) {
    lines.push(`  disk         ${storage.freeBytes === null ? 'unknown' : formatBytes(storage.freeBytes)} free at ${storage.path} (acks pause below ${formatBytes(storage.minFreeBytes)})`);
  }
  if (sink !== undefined) {
    const reach = sink.reachable === null ? 'not checked yet' : sink.reachable ? 'reachable' : `NOT reachable: ${sink.error ?? 'unknown'}`;
    lines.push(`  sink         ${sink.sink} ${reach}`);
  }
  process.stdout.write(lines.join('\n') + '\n\n');
  const actors = status.actors.map((actor) => [actor.id, actor.status, actor.restarts, actor.eventLoop === undefined ? '-' : `${actor.eventLoop.p99Ms.toFixed(1)} ms`, writerBatch(actor.writer), actor.lastError ?? '']);
  process.stdout.write(renderTable(['ACTOR', 'STATUS', 'RESTARTS', 'LOOP P99', 'BATCH', 'LAST ERROR'], actors));
}

export async function runExams(api: ControlApiClient, options: { json?: boolean }): Promise<void> {
  const { exams } = await api.get<{ exams: ExamSummary[] }>('/api/exams');
  if (options.json === true) {
    process.stdout.write(JSON.stringify(exams, null, 2) + '\n');
    return;
  }
  if (exams.length === 0) {
    process.stdout.write('No exam has data yet: students appear once they connect with a token (untradex tokens <exam>).\n');
    return;
  }
  const rows = exams.map((exam) => [exam.exam, exam.state, exam.students, exam.connected, exam.submitted, exam.events]);
  process.stdout.write(renderTable(['EXAM', 'STATE', 'STUDENTS', 'CONNECTED', 'SUBMITTED', 'EVENTS'], rows));
}

/** A writer's loop: what its batch is doing and for how long (a long `writing` waits on Redis). */
function writerBatch(writer: ActorReport['writer']): string {
  if (writer === undefined) return '-';
  if (writer.batchEvents === 0) return writer.phase;
  return `${writer.phase} ${duration(writer.phaseMs / 1000)}, ${formatCell(writer.batchEvents)} events`;
}

function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
