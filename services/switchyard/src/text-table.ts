/** One column of a text table: its header and how a row shows in it. */
export interface TextColumn<T> {
  header: string;
  cell: (row: T) => unknown;
}

/** Shows a value in one table cell: null and undefined as `-`, arrays comma-joined, objects as JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cellText).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/\s+/g, ' ');
}

/** Left-aligned columns separated by two spaces, a header row first; every line ends with `\n`. */
export function renderTable<T>(rows: readonly T[], columns: ReadonlyArray<TextColumn<T>>): string {
  const cells = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => cellText(c.cell(r))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells
    .map(
      (line) =>
        `${line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`,
    )
    .join('');
}
