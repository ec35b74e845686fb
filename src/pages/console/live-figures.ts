// The system's live figures (docs/PROTOCOL.md section 8): connections, events per second with its chart,
// ring fill, Redis, the result database, the disk, and every actor with its restarts and loop delay.

import type { ActorStatus, ProcessStatus, SystemStatus } from './api-types.js';
import { create, required, setAttribute, setText } from './dom.js';
import { EventsChart } from './events-chart.js';
import { formatBytes, formatClock, formatCount, formatDuration, formatMs, formatShare } from './figure-format.js';

/** Above this ring fill the tile turns amber: writers are falling behind the sockets. */
const RING_WARN = 0.5;
/** Event-loop delay (p99) above which an actor's thread is marked as struggling. */
const LOOP_WARN_MS = 100;

type Tone = 'ok' | 'warn' | 'bad' | 'idle';

export class LiveFigures {
  private readonly chart: EventsChart;
  private readonly actorRows = new Map<string, HTMLTableRowElement>();
  private readonly processRows = new Map<string, HTMLTableRowElement>();

  constructor(private readonly root: HTMLElement) {
    this.chart = new EventsChart(required('#chart', root));
  }

  show(status: SystemStatus, at: number): void {
    const { connections, events, rings, redis } = status;
    this.tile('connections', formatCount(connections.total), `${formatCount(connections.live)} live · ${formatCount(connections.blocked)} paused · ${formatCount(connections.unwelcomed)} joining`, connections.blocked > 0 ? 'warn' : 'ok');

    this.chart.add(at, events.perSecond);
    const heldBack = status.heldBack?.students ?? 0;
    const held = heldBack > 0 ? ` · ${formatCount(heldBack)} students held back (shard down)` : '';
    const bad = (events.badEvents ?? 0) > 0 ? ` · ${formatCount(events.badEvents ?? 0)} bad` : '';
    this.tile('events', formatCount(events.perSecond), `${formatCount(events.stored)} stored · ${formatCount(events.duplicates)} resent · ${formatCount(events.refused)} refused${bad}${held}`, heldBack > 0 ? 'warn' : 'ok');
    setAttribute(required('#chart', this.root), 'aria-label', `Events per second over the last 5 minutes: now ${formatCount(events.perSecond)}, peak ${formatCount(this.chart.peak())}`);

    const fill = Math.min(1, Math.max(0, rings.fill));
    this.tile('rings', formatShare(fill), `${formatBytes(rings.usedBytes)} of ${formatBytes(rings.capacityBytes)} waiting`, fill >= RING_WARN ? 'warn' : 'ok');
    const meter = required('#ring-meter', this.root);
    setAttribute(meter, 'aria-valuenow', (Math.round(fill * 1000) / 10).toString());
    setAttribute(meter, 'aria-valuetext', formatShare(fill));
    required('#ring-meter-fill', this.root).style.transform = `scaleX(${fill})`;

    const shards = redis.shards ?? [];
    const failing = shards.filter((shard) => !shard.ok);
    const problem =
      redis.servers?.find((server) => server.problem !== null)?.problem ??
      (failing.length === 0 ? null : `${failing.length} of ${shards.length} shards failing: ${failing[0]!.primary} ${failing[0]!.reason ?? ''}`.trim());
    const redisTone: Tone = redis.status !== 'ready' ? 'bad' : problem !== null ? 'warn' : 'ok';
    const where = shards.length > 0 ? `cluster of ${shards.length} shards` : `${redis.embedded ? 'embedded' : 'external'} · ${redis.target}`;
    this.tile('redis', redis.status, problem ?? `${where} · appendfsync ${redis.appendfsync}`, redisTone);

    const sink = status.sink;
    if (sink === undefined) this.tile('sink', '–', 'not reported by this server', 'idle');
    else if (sink.reachable === null) this.tile('sink', 'checking…', sink.sink, 'idle');
    else {
      const checked = sink.checkedAt === null ? '' : ` · checked ${formatClock(new Date(sink.checkedAt))}`;
      // Students still write when it is down; only finalize needs it, so this is the time to fix it.
      this.tile('sink', sink.reachable ? 'reachable' : 'unreachable', sink.reachable ? `${sink.sink}${checked}` : `${sink.sink}: ${sink.error ?? 'no answer'}. Finalize will fail until it answers.`, sink.reachable ? 'ok' : 'bad');
    }

    const storage = status.storage;
    if (storage === undefined || storage.freeBytes === null) this.tile('disk', '–', 'free space unknown on this platform', 'idle');
    else this.tile('disk', `${formatBytes(storage.freeBytes)}`, storage.state === 'ok' ? `free · stops acking below ${formatBytes(storage.minFreeBytes)}` : `FULL: below ${formatBytes(storage.minFreeBytes)}, no answer is acked`, storage.state === 'ok' ? 'ok' : 'bad');

    setText(required('#uptime', this.root), `Server ${status.state}, up ${formatDuration(status.uptimeSeconds)}`);
    this.showActors(status.actors);
    this.showProcesses(status.processes ?? []);
  }

  private tile(name: string, figure: string, detail: string, tone: Tone): void {
    const tile = required(`#tile-${name}`, this.root);
    setAttribute(tile, 'data-tone', tone);
    setText(required('.figure', tile), figure);
    const line = required('.detail', tile);
    setText(line, detail);
    // Two lines show; the whole text (a long database error, say) is in the tooltip.
    setAttribute(line, 'title', detail);
  }

  private showActors(actors: ActorStatus[]): void {
    const body = required<HTMLTableSectionElement>('#actor-rows', this.root);
    const seen = new Set<string>();
    for (const actor of actors) {
      seen.add(actor.id);
      let row = this.actorRows.get(actor.id);
      if (row === undefined) {
        row = create('tr');
        row.append(create('th', { scope: 'row' }, actor.id), create('td', { class: 'state' }), create('td', { class: 'num' }), create('td', { class: 'num' }), create('td', { class: 'num' }), create('td', { class: 'error' }));
        this.actorRows.set(actor.id, row);
        body.append(row);
      }
      const cells = row.cells;
      const loop = actor.eventLoop;
      const struggling = loop !== undefined && loop.p99Ms > LOOP_WARN_MS;
      setAttribute(row, 'data-tone', actor.status !== 'running' ? 'bad' : struggling ? 'warn' : 'ok');
      setText(cells[1]!, actor.status);
      setText(cells[2]!, formatCount(actor.restarts));
      setText(cells[3]!, loop === undefined ? '–' : formatMs(loop.p99Ms));
      setText(cells[4]!, loop === undefined ? '–' : formatMs(loop.maxMs));
      setText(cells[5]!, actor.lastError ?? '');
      setAttribute(cells[5]!, 'title', actor.lastError ?? '');
    }
    for (const [id, row] of this.actorRows) {
      if (!seen.has(id)) {
        row.remove();
        this.actorRows.delete(id);
      }
    }
  }

  /** With gateway.processes > 1, one row per gateway process; the panel stays hidden otherwise. */
  private showProcesses(processes: ProcessStatus[]): void {
    const panel = required('#processes', this.root);
    panel.hidden = processes.length === 0;
    const body = required<HTMLTableSectionElement>('#process-rows', this.root);
    const seen = new Set<string>();
    for (const process of processes) {
      seen.add(process.id);
      let row = this.processRows.get(process.id);
      if (row === undefined) {
        row = create('tr');
        row.append(create('th', { scope: 'row' }, process.id), create('td', { class: 'state' }), create('td', { class: 'num' }), create('td', { class: 'num' }), create('td', { class: 'num' }));
        this.processRows.set(process.id, row);
        body.append(row);
      }
      const cells = row.cells;
      setAttribute(row, 'data-tone', process.status === 'running' ? 'ok' : 'bad');
      setText(cells[1]!, process.status);
      setText(cells[2]!, formatCount(process.restarts));
      setText(cells[3]!, formatCount(process.connections));
      setText(cells[4]!, formatCount(process.eventsStored));
    }
    for (const [id, row] of this.processRows) {
      if (!seen.has(id)) {
        row.remove();
        this.processRows.delete(id);
      }
    }
  }

  reset(): void {
    this.chart.clear();
  }
}
