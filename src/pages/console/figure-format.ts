// How the console writes its figures: grouped counts, percents, bytes, delays and times, each short
// enough for a fixed-width cell so a refresh never reflows the page.

const counts = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function formatCount(value: number): string {
  return counts.format(value);
}

/** A share (0..1) as a percent with one decimal: "0.4 %". */
export function formatShare(share: number): string {
  return `${oneDecimal.format(share * 100)} %`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${oneDecimal.format(value)} ${units[unit]}`;
}

export function formatMs(ms: number): string {
  return ms < 100 ? `${oneDecimal.format(ms)} ms` : `${counts.format(ms)} ms`;
}

export function formatClock(at: Date): string {
  return at.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** "12 s ago", "4 min ago", "2 h ago"; null reads as a dash. */
export function formatAgo(ms: number | null, now: number = Date.now()): string {
  if (ms === null) return '–';
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}
