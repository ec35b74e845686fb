// The status of a primary and its gateway processes as one: totals summed over the processes,
// every actor listed under its process, each process reported, ready only when all are.

import type { ActorReport, ProcessReport, Readiness, SystemStatus } from '../src/control/control-backend.js';
import type { GatewayProcess } from '../supervisors/gateway-process.js';
import { addFrameCounts, emptyFrameCounts } from '../src/telemetry/frame-counts.js';
import { sumHistograms } from '../src/telemetry/latency-histogram.js';
import { mergeHeldBack, type StatusSource } from './root-status.js';
import type { Supervisor } from '../supervisors/supervisor.js';

const CALL_TIMEOUT_MS = 3_000;

function withTimeout<T>(promise: Promise<T>): Promise<T | null> {
  return Promise.race([promise, new Promise<null>((resolve) => setTimeout(resolve, CALL_TIMEOUT_MS, null).unref())]).catch(() => null);
}

export class FleetStatus implements StatusSource {
  constructor(
    /** The primary's own status (its Redis, its embedded redis-server). */
    private readonly primary: StatusSource,
    private readonly gateways: Supervisor<GatewayProcess>,
  ) {}

  async status(): Promise<SystemStatus> {
    const own = await this.primary.status();
    const reports = this.gateways.report();
    const statuses = await Promise.all(reports.map((report) => {
      const handle = this.gateways.handle(report.id);
      return handle === null ? Promise.resolve(null) : withTimeout(handle.api.status());
    }));
    const total = { ...own, connections: { ...own.connections }, events: { ...own.events }, acks: { ...own.acks }, rings: { ...own.rings }, frames: emptyFrameCounts() };
    addFrameCounts(total.frames, own.frames);
    const present = statuses.filter((status): status is SystemStatus => status !== null && status !== undefined);
    total.latency = {
      ack: sumHistograms([own.latency.ack, ...present.map((status) => status.latency.ack)]),
      welcome: sumHistograms([own.latency.welcome, ...present.map((status) => status.latency.welcome)]),
      upgrade: sumHistograms([own.latency.upgrade, ...present.map((status) => status.latency.upgrade)]),
      helloWait: sumHistograms([own.latency.helloWait, ...present.map((status) => status.latency.helloWait)]),
    };
    for (const status of present) addFrameCounts(total.frames, status.frames);
    const actors: ActorReport[] = [...own.actors];
    const processes: ProcessReport[] = [];
    reports.forEach((report, index) => {
      const status = statuses[index];
      processes.push({
        id: report.id,
        pid: this.gateways.handle(report.id)?.pid ?? null,
        status: status === null || status === undefined ? (report.status === 'running' ? 'unresponsive' : report.status) : report.status,
        restarts: report.restarts,
        connections: status?.connections.total ?? 0,
        eventsStored: status?.events.stored ?? 0,
      });
      actors.push({ id: report.id, status: report.status, incarnation: report.incarnation, restarts: report.restarts, lastError: report.lastError });
      if (status === null || status === undefined) return;
      for (const key of ['total', 'live', 'blocked', 'rejectedUpgrades', 'unwelcomed'] as const) total.connections[key] += status.connections[key];
      for (const key of ['forwarded', 'direct', 'stored', 'duplicates', 'refused', 'badEvents', 'unavailable', 'perSecond'] as const) total.events[key] += status.events[key];
      total.acks.sent += status.acks.sent;
      total.acks.nacks += status.acks.nacks;
      total.rings.usedBytes += status.rings.usedBytes;
      total.rings.capacityBytes += status.rings.capacityBytes;
      for (const actor of status.actors) actors.push({ ...actor, id: `${report.id}/${actor.id}` });
    });
    total.rings.fill = total.rings.capacityBytes === 0 ? 0 : total.rings.usedBytes / total.rings.capacityBytes;
    // Cluster only: each process's writers hold back their own sessions; the fleet shows the sum.
    const heldBack = own.heldBack === undefined ? {} : { heldBack: mergeHeldBack([own.heldBack, ...statuses.map((status) => status?.heldBack)]) };
    return { ...total, ...heldBack, actors, processes };
  }

  async readiness(): Promise<Readiness> {
    const own = await this.primary.readiness();
    const reasons = own.reasons.filter((reason) => !reason.startsWith('an actor'));
    if (!this.gateways.allRunning()) reasons.push('a gateway process is restarting or has failed');
    const handles = this.gateways.handles();
    const answers = await Promise.all(handles.map((handle) => withTimeout(handle.api.readiness())));
    answers.forEach((answer, index) => {
      const id = handles[index]!.id;
      if (answer === null) reasons.push(`${id} does not answer`);
      else for (const reason of answer.reasons) reasons.push(`${id}: ${reason}`);
    });
    return { ready: reasons.length === 0, reasons };
  }
}
