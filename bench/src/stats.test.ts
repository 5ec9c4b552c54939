import { median, percentile, ratio, summarize } from './stats';

describe('percentile (nearest rank)', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

  test.each([
    [oneToHundred, 50, 50],
    [oneToHundred, 99, 99],
    [oneToHundred, 100, 100],
    [oneToHundred, 0, 1],
    [[5], 99, 5],
    // 19 gaps (20 keys): p99 is the largest gap, not a value between the two largest.
    [Array.from({ length: 19 }, (_, i) => i * 10), 99, 180],
    [[3, 1, 2], 50, 2],
  ])('%#: p%d of a known array', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  test('does not reorder its input', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  test('an empty series has no percentile, and p outside 0..100 is a mistake', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('median', () => {
  test.each([
    [[7, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
    [[-5, 5], 0],
  ])('%#: median of a known array', (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  test('of nothing is NaN', () => {
    expect(median([])).toBeNaN();
  });
});

test('summarize gives min, median, p99, max and mean together', () => {
  expect(summarize([10, 30, 20, 40])).toEqual({ n: 4, min: 10, median: 25, p99: 40, max: 40, mean: 25 });
  expect(summarize([]).n).toBe(0);
});

test('ratio to two decimals, NaN without a denominator', () => {
  expect(ratio(3, 4)).toBe(0.75);
  expect(ratio(2, 3)).toBe(0.67);
  expect(ratio(1, 0)).toBeNaN();
  expect(ratio(Number.NaN, 1)).toBeNaN();
});
