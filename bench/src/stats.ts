/** Summary of one series of samples, the shape every benchmark reports. */
export interface Summary {
  n: number;
  min: number;
  median: number;
  p99: number;
  max: number;
  mean: number;
}

const ascending = (values: readonly number[]) => [...values].sort((a, b) => a - b);

/**
 * The `p`-th percentile (0–100) by nearest rank: always a sample that happened, never an interpolation
 * between two (with 19 samples, p99 is the largest). `NaN` for no samples.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be from 0 to 100, got ${p}`);
  if (values.length === 0) return Number.NaN;
  const sorted = ascending(values);
  // The small epsilon keeps float noise (0.99 * 300 = 297.00000000000006) from skipping a rank.
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100 - 1e-9));
  return sorted[rank - 1]!;
}

/** The middle sample, or the mean of the two middle ones for an even count. `NaN` for no samples. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = ascending(values);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** min / median / p99 / max / mean of `values`. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0)
    return { n: 0, min: Number.NaN, median: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const sorted = ascending(values);
  return {
    n: sorted.length,
    min: sorted[0]!,
    median: median(sorted),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
  };
}

/** `a / b` to two decimals; `NaN` when `b` is 0 or either is not a number. */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return Math.round((a / b) * 100) / 100;
}
