import { send } from './http';

/** One sample of the Prometheus text format: `name{label="value",...} 42`. */
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

/** Which label sets count: every label given must match, or a predicate over the labels. */
export type LabelMatch = Record<string, string> | ((labels: Record<string, string>) => boolean);

// name, optional {labels}, value, optional timestamp (ms).
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/**
 * Parses a Prometheus text exposition: comments and blank lines skipped, label values unescaped (`\"`, `\\`,
 * `\n`). A line that is not a sample throws: an exporter printing something else is a finding, not noise.
 */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const [, name = '', labelText = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, label = '', raw = ''] of labelText.matchAll(LABEL)) {
      labels[label] = raw.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
    }
    samples.push({ name, labels, value: parseValue(value) });
  }
  return samples;
}

const matcher = (match: LabelMatch) =>
  typeof match === 'function'
    ? match
    : (labels: Record<string, string>) => Object.entries(match).every(([label, value]) => labels[label] === value);

/** Sum of the samples of `name` whose labels `match` (0 when there is none). */
export function sampleValue(samples: readonly PromSample[], name: string, match: LabelMatch = {}): number {
  const matches = matcher(match);
  return samples.filter((s) => s.name === name && matches(s.labels)).reduce((sum, s) => sum + s.value, 0);
}

/** The histogram `name` (without `_bucket`), its label sets that `match` added together. */
export function histogramOf(samples: readonly PromSample[], name: string, match: LabelMatch = {}): Histogram {
  const matches = matcher(match);
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !matches(s.labels) || s.labels.le === undefined) continue;
    const le = parseValue(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  return {
    buckets,
    sum: sampleValue(samples, `${name}_sum`, match),
    count: sampleValue(samples, `${name}_count`, match),
  };
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

/** `GET url` (a Prometheus exporter, e.g. the worker's `/metrics`), parsed; anything but 200 throws. */
export async function scrapeMetrics(url: string): Promise<PromSample[]> {
  const { origin, pathname, search } = new URL(url);
  const answer = await send(origin, { method: 'GET', path: `${pathname}${search}`, headers: {}, timeoutMs: 10_000 });
  if (answer.status !== 200) throw new Error(`${url}: HTTP ${answer.status}`);
  return parsePrometheusText(answer.text);
}
