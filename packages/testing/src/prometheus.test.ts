import {
  histogramBucketBound,
  histogramOf,
  histogramQuantile,
  parsePrometheusText,
  sampleValue,
  subtractHistogram,
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
  expect(sampleValue(samples, 'temporal_sticky_cache_size')).toBe(7);
  expect(samples.find((s) => s.name === 'lockkeys_keys_added')?.labels.label).toBe('with "quote"');
  expect(samples.filter((s) => s.labels.le === '+Inf')).toHaveLength(2);
});

test('unescapes newlines and backslashes, ignores a trailing timestamp, keeps -Inf', () => {
  const samples = parsePrometheusText(
    ['m{a="line\\nbreak",b="back\\\\slash"} 1 1700000000000', 'gauge -Inf', 'spaced{x="1"}   2.5'].join('\n'),
  );
  expect(samples).toEqual([
    { name: 'm', labels: { a: 'line\nbreak', b: 'back\\slash' }, value: 1 },
    { name: 'gauge', labels: {}, value: Number.NEGATIVE_INFINITY },
    { name: 'spaced', labels: { x: '1' }, value: 2.5 },
  ]);
});

test('a line that is not a sample is an error, not silently skipped', () => {
  expect(() => parsePrometheusText('ok 1\nthis is not a sample\n')).toThrow(
    'not a Prometheus sample line: this is not a sample',
  );
});

test('sampleValue adds the samples whose labels include the given ones, or pass a predicate; none is 0', () => {
  const samples = parsePrometheusText(
    [
      'http_requests_total{route="/a",method="GET",status="200"} 2',
      'http_requests_total{route="/a",method="POST",status="202"} 3',
      'http_requests_total{route="/b",method="GET",status="200"} 5',
    ].join('\n'),
  );
  expect(sampleValue(samples, 'http_requests_total')).toBe(10);
  expect(sampleValue(samples, 'http_requests_total', { route: '/a' })).toBe(5);
  expect(sampleValue(samples, 'http_requests_total', { route: '/a', method: 'GET' })).toBe(2);
  expect(sampleValue(samples, 'http_requests_total', (labels) => labels.status !== '200')).toBe(3);
  expect(sampleValue(samples, 'http_requests_total', { route: '/c' })).toBe(0);
  expect(sampleValue(samples, 'no_such_metric')).toBe(0);
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
