/**
 * The pure arithmetic and wording of `atelier bench`: percentiles, ratios, and the numbers as a
 * person reads them. No clocks here, so the tests can check it exactly.
 */

/**
 * The q-th percentile (0–100) of `values`, interpolating linearly between the two nearest
 * ranks (NumPy's default), so p50 of an even count is the mean of the middle two.
 * NaN for an empty list.
 */
export function percentile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile: q must be within 0–100, got ${q}`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low]!;
  if (low === high) return lowValue;
  // Clamped: the interpolation may round a hair past the higher neighbour.
  return Math.min(sorted[high]!, lowValue + (sorted[high]! - lowValue) * (rank - low));
}

/** p50, p95, mean and max of a list of durations (milliseconds in, milliseconds out). */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
  maxMs: number;
}

export function summarizeLatencies(milliseconds: readonly number[]): LatencySummary {
  const count = milliseconds.length;
  return {
    count,
    p50Ms: percentile(milliseconds, 50),
    p95Ms: percentile(milliseconds, 95),
    meanMs: count === 0 ? Number.NaN : milliseconds.reduce((sum, v) => sum + v, 0) / count,
    maxMs: count === 0 ? Number.NaN : Math.max(...milliseconds),
  };
}

/** `ours / theirs`, or null when either side is missing or the baseline is not a positive number. */
export function speedRatio(ours: number | null | undefined, theirs: number | null | undefined): number | null {
  if (ours == null || theirs == null || !Number.isFinite(ours) || !Number.isFinite(theirs) || theirs <= 0) return null;
  return ours / theirs;
}

/** "12,345" — whole samples per second. */
export function formatRate(samplesPerSecond: number | null | undefined): string {
  if (samplesPerSecond == null || !Number.isFinite(samplesPerSecond)) return '—';
  return Math.round(samplesPerSecond).toLocaleString('en-US');
}

/** "2.41×", with two significant decimals under 10 and one above. */
export function formatRatio(ratio: number | null | undefined): string {
  if (ratio == null || !Number.isFinite(ratio)) return '—';
  return `${ratio.toFixed(ratio >= 10 ? 1 : 2)}×`;
}

/** "12.3 ms". */
export function formatMs(milliseconds: number | null | undefined): string {
  if (milliseconds == null || !Number.isFinite(milliseconds)) return '—';
  return `${milliseconds.toFixed(milliseconds >= 100 ? 0 : 1)} ms`;
}

/** "512 MB" in decimal megabytes (the unit `free -m` users compare with is close enough). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return '—';
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${(bytes / 1e6).toFixed(bytes >= 1e8 ? 0 : 1)} MB`;
}

/** "88.1 %". */
export function formatPercent(share: number | null | undefined): string {
  if (share == null || !Number.isFinite(share)) return '—';
  return `${(share * 100).toFixed(1)} %`;
}

/** Evenly spread picks: `count` items from `items`, first one included, order kept. */
export function spreadSample<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!);
}

/** A plain-text table with aligned columns; the first row is the header. */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  const [header, ...body] = rows;
  if (!header) return '';
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
