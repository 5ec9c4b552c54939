import {
  histogramBucketBound,
  histogramOf,
  histogramQuantile,
  parsePrometheusText,
  subtractHistogram,
  sumOf,
} from './prometheus';

// The shape the worker's SDK exporter prints (two task queues, so label sets must be added together).
const SCRAPE = `
# HELP temporal_activity_schedule_to_start_latency Histogram of activity schedule-to-start latencies
# TYPE temporal_activity_schedule_to_start_latency histogram
temporal_activity_schedule_to_start_latency_bucket{namespace="default",task_queue="a",le="100"} 60
temporal_activity_schedule_to_start_latency_bucket{namespace="default",task_queue="a",le="500"} 80
temporal_activity_schedule_to_start_latency_bucket{namespace="default",task_queue="a",le="+Inf"} 90
temporal_activity_schedule_to_start_latency_bucket{namespace="default",task_queue="b",le="100"} 20
temporal_activity_schedule_to_start_latency_bucket{namespace="default",task_queue="b",le="500"} 20
temporal_activity_schedule_to_start_latency_bucket{namespace="default",task_queue="b",le="+Inf"} 10
temporal_activity_schedule_to_start_latency_sum{namespace="default",task_queue="a"} 9000
temporal_activity_schedule_to_start_latency_count{namespace="default",task_queue="a"} 90
temporal_sticky_cache_size{namespace="default",task_queue="a"} 7
lockkeys_keys_added{label="with \\"quote\\""} 3
`;

test('parses samples with labels, escaped quotes and +Inf', () => {
  const samples = parsePrometheusText(SCRAPE);
  expect(sumOf(samples, 'temporal_sticky_cache_size')).toBe(7);
  expect(samples.find((s) => s.name === 'lockkeys_keys_added')?.labels.label).toBe('with "quote"');
  expect(samples.filter((s) => s.labels.le === '+Inf')).toHaveLength(2);
});

test('adds the label sets of one histogram and keeps buckets ascending', () => {
  const histogram = histogramOf(
    parsePrometheusText(SCRAPE),
    'temporal_activity_schedule_to_start_latency',
    (l) => l.task_queue === 'a',
  );
  expect(histogram.buckets).toEqual([
    { le: 100, count: 60 },
    { le: 500, count: 80 },
    { le: Number.POSITIVE_INFINITY, count: 90 },
  ]);
  expect(histogram.count).toBe(90);
});

describe('histogramQuantile', () => {
  const histogram = {
    buckets: [
      { le: 100, count: 50 },
      { le: 200, count: 100 },
      { le: Number.POSITIVE_INFINITY, count: 100 },
    ],
    sum: 0,
    count: 100,
  };

  test.each([
    [0.5, 100], // rank 50 is the top of the first bucket
    [0.25, 50], // linear inside [0, 100]
    [0.75, 150], // linear inside [100, 200]
    [0.99, 198],
  ])('q=%d', (q, expected) => {
    expect(histogramQuantile(histogram, q)).toBeCloseTo(expected, 6);
  });

  test('a rank in +Inf answers the highest finite bound; an empty histogram has no quantile', () => {
    const tail = {
      buckets: [
        { le: 100, count: 1 },
        { le: Number.POSITIVE_INFINITY, count: 10 },
      ],
      sum: 0,
      count: 10,
    };
    expect(histogramQuantile(tail, 0.99)).toBe(100);
    expect(histogramQuantile({ buckets: [], sum: 0, count: 0 }, 0.5)).toBeNaN();
  });
});

test('subtracting an earlier scrape leaves what happened in between; a series not yet seen counts as zero', () => {
  const before = {
    buckets: [
      { le: 100, count: 5 },
      { le: Number.POSITIVE_INFINITY, count: 5 },
    ],
    sum: 50,
    count: 5,
  };
  const after = {
    buckets: [
      { le: 100, count: 8 },
      { le: Number.POSITIVE_INFINITY, count: 9 },
    ],
    sum: 400,
    count: 9,
  };
  expect(subtractHistogram(after, before)).toEqual({
    buckets: [
      { le: 100, count: 3 },
      { le: Number.POSITIVE_INFINITY, count: 4 },
    ],
    sum: 350,
    count: 4,
  });
  expect(subtractHistogram(after, { buckets: [], sum: 0, count: 0 })).toEqual(after);
});

test('histogramBucketBound names the bucket that holds the quantile', () => {
  const histogram = {
    buckets: [
      { le: 100, count: 50 },
      { le: 500, count: 99 },
      { le: Number.POSITIVE_INFINITY, count: 100 },
    ],
    sum: 0,
    count: 100,
  };
  expect(histogramBucketBound(histogram, 0.5)).toBe(100);
  expect(histogramBucketBound(histogram, 0.99)).toBe(500);
  expect(histogramBucketBound(histogram, 1)).toBe(Number.POSITIVE_INFINITY);
  expect(histogramBucketBound({ buckets: [], sum: 0, count: 0 }, 0.5)).toBeNaN();
});
