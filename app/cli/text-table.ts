// Plain-text tables for the command line's human output: columns padded to their widest cell,
// numbers right-aligned, so a terminal reads them at a glance and no library is needed for it.

export type Cell = string | number;

const grouped = new Intl.NumberFormat('en-US');

/** A number with thousands separators; any other cell as it is. */
export function formatCell(cell: Cell): string {
  return typeof cell === 'number' ? grouped.format(cell) : cell;
}

export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map(formatCell));
  const widths = headers.map((header, column) => Math.max(header.length, ...text.map((row) => row[column]?.length ?? 0)));
  const numeric = headers.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === 'number'));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  return [line(headers), ...text.map(line)].join('\n') + '\n';
}
