/** Plain-text tables for terminal output: padded columns, numbers aligned right. */

/**
 * Lines of a table whose first row is the header. Columns listed in `rightAligned` (by index) are
 * padded on the left; two spaces separate columns; no line has trailing spaces.
 */
export function formatTable(rows: string[][], rightAligned: number[] = []): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length));
  }
  return rows.map((row) =>
    row.map((cell, i) =>
      rightAligned.includes(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])
    )
      .join("  ")
      .trimEnd()
  );
}
