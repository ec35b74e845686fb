// The chart of stored events per second over the last minutes (uPlot, bundled: no CDN). The window
// is fixed, so the line slides rather than the axis stretching while the first minutes fill in.

import uPlot from 'uplot';

/** Five minutes of one sample a second. */
export const CHART_WINDOW_SECONDS = 300;
const HEIGHT_PX = 170;

export class EventsChart {
  private readonly times: number[] = [];
  private readonly values: number[] = [];
  private readonly plot: uPlot;

  constructor(private readonly host: HTMLElement) {
    const style = getComputedStyle(host);
    const line = style.getPropertyValue('--chart-line').trim() || '#1f5fbf';
    const fill = style.getPropertyValue('--chart-fill').trim() || 'rgba(31, 95, 191, 0.12)';
    const grid = style.getPropertyValue('--chart-grid').trim() || '#e3e6ee';
    const ink = style.getPropertyValue('--chart-ink').trim() || '#5a6275';
    const axis = { stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '12px system-ui, sans-serif' };
    this.plot = new uPlot(
      {
        width: Math.max(200, host.clientWidth),
        height: HEIGHT_PX,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { size: 6 } },
        scales: {
          x: { time: true, range: (_u, _min, max) => [max - CHART_WINDOW_SECONDS, max] },
          // From zero, and never a flat line glued to the top on an idle server.
          y: { range: (_u, _min, max) => [0, Math.max(10, Math.ceil(max * 1.15))] },
        },
        axes: [
          // Seconds only when the ticks are closer than a minute, so no two ticks read the same.
          { ...axis, values: (_u, splits, _axis, _space, increment) => splits.map((at) => clock(at, increment % 60 !== 0)) },
          { ...axis, size: 64, values: (_u, splits) => splits.map((value) => new Intl.NumberFormat('en', { notation: 'compact' }).format(value)) },
        ],
        series: [{}, { label: 'Events per second', stroke: line, fill, width: 2, points: { show: false } }],
      },
      [[], []],
      host,
    );
    // The chart follows its panel's width (a resized window, a side panel opened).
    new ResizeObserver(() => {
      const width = Math.max(200, host.clientWidth);
      if (width !== this.plot.width) this.plot.setSize({ width, height: HEIGHT_PX });
    }).observe(host);
  }

  /** Adds one sample (time in ms) and drops those older than the window. */
  add(atMs: number, perSecond: number): void {
    const at = atMs / 1000;
    this.times.push(at);
    this.values.push(perSecond);
    while (this.times.length > 0 && this.times[0]! < at - CHART_WINDOW_SECONDS) {
      this.times.shift();
      this.values.shift();
    }
    this.plot.setData([this.times, this.values]);
  }

  /** The highest value in the window, for the chart's text alternative. */
  peak(): number {
    return this.values.reduce((max, value) => Math.max(max, value), 0);
  }

  clear(): void {
    this.times.length = 0;
    this.values.length = 0;
    this.plot.setData([[], []]);
  }
}

function clock(atSeconds: number, withSeconds: boolean): string {
  const options: Intl.DateTimeFormatOptions = withSeconds ? { hour: '2-digit', minute: '2-digit', second: '2-digit' } : { hour: '2-digit', minute: '2-digit' };
  return new Date(atSeconds * 1000).toLocaleTimeString('en-GB', options);
}
