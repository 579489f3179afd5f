/** Figures, labels and tables: how every bench prints. */

/** One line of the final summary. */
export interface SummaryRow {
  bench: string;
  measured: string;
  target: string;
  pass: boolean;
  /** A figure without a target: shown as `info`, not PASS/MISS. */
  info?: boolean;
}

/** A summary row for a figure with no target. */
export function infoRow(bench: string, measured: string): SummaryRow {
  return { bench, measured, target: "-", pass: true, info: true };
}

export const KIB = 1024;

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function label(pass: boolean): string {
  return pass ? "PASS" : "MISS";
}

export function kib(bytes: number, digits = 1): string {
  return (bytes / KIB).toFixed(digits);
}

export function pct(part: number, whole: number, digits = 1): string {
  return ((100 * part) / whole).toFixed(digits);
}

/** Dollars: 4 decimals from a cent up, 7 below. */
export function usd(value: number): string {
  if (value === 0) return "$0";
  return value >= 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(7)}`;
}

/** Prints rows as an aligned text table. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  console.log(line(headers));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(r));
}

export function heading(title: string): void {
  console.log(`\n=== ${title} ${"=".repeat(Math.max(0, 76 - title.length))}`);
}
