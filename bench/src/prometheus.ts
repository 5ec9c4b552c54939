/** One line of Prometheus text exposition: `name{labels} value`. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A cumulative histogram: `buckets` ascending by `le`, the last one `le = Infinity`. */
export interface Histogram {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Parses the Prometheus text format; comments and lines it does not understand are skipped. */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split('\n')) {
    const match = SAMPLE_LINE.exec(line.trim());
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = value!.replace(/\\(.)/g, '$1');
    samples.push({ name: match[1]!, labels, value: parseValue(match[3]!) });
  }
  return samples;
}

type LabelFilter = (labels: Record<string, string>) => boolean;

/** Sum of a counter or gauge over every label set that passes `filter`. */
export function sumOf(samples: readonly PromSample[], name: string, filter: LabelFilter = () => true): number {
  return samples.filter((s) => s.name === name && filter(s.labels)).reduce((sum, s) => sum + s.value, 0);
}

/** The histogram `name` (without `_bucket`), its label sets passing `filter` added together. */
export function histogramOf(samples: readonly PromSample[], name: string, filter: LabelFilter = () => true): Histogram {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !filter(s.labels) || s.labels.le === undefined) continue;
    const le = parseValue(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  return { buckets, sum: sumOf(samples, `${name}_sum`, filter), count: sumOf(samples, `${name}_count`, filter) };
}

/** What was observed between two scrapes of the same histogram (`before` may lack buckets not yet seen). */
export function subtractHistogram(after: Histogram, before: Histogram): Histogram {
  const earlier = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/**
 * The `q`-quantile (0–1) estimated from bucket counts the way PromQL's `histogram_quantile` does: linear
 * within the bucket that holds the rank. A rank in the `+Inf` bucket answers the highest finite bound
 * (the true value is at least that). `NaN` for an empty histogram.
 */
export function histogramQuantile(histogram: Histogram, q: number): number {
  const total = histogram.buckets.at(-1)?.count ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const { le, count } of histogram.buckets) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return lower;
      const inBucket = count - below;
      return inBucket === 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = count;
  }
  return lower;
}

/**
 * The upper bound of the bucket that holds the `q`-quantile: what the buckets really know ("p99 ≤ 5000")
 * when they are too coarse for interpolation to mean much. `Infinity` when the rank lies in `+Inf`.
 */
export function histogramBucketBound(histogram: Histogram, q: number): number {
  const total = histogram.buckets.at(-1)?.count ?? 0;
  if (total <= 0) return Number.NaN;
  return histogram.buckets.find((b) => b.count >= q * total)?.le ?? Number.POSITIVE_INFINITY;
}
