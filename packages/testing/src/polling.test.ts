import { eventually, mapLimit, sleep, withTimeout } from './polling';

test('eventually returns the first value the probe gives, treating errors as "not yet"', async () => {
  let calls = 0;
  const value = await eventually(
    async () => {
      calls++;
      if (calls === 1) throw new Error('not up yet');
      return calls === 3 ? 'ready' : undefined;
    },
    5_000,
    'the probe',
    10,
  );
  expect(value).toBe('ready');
  expect(calls).toBe(3);
});

test('eventually names what it waited for, and the last error, when time runs out', async () => {
  await expect(
    eventually(
      async () => {
        throw new Error('connection refused');
      },
      50,
      'the gateway',
      10,
    ),
  ).rejects.toThrow('timed out after 50 ms waiting for the gateway (last error: connection refused)');
});

test('mapLimit keeps at most `limit` tasks in flight and the results in input order', async () => {
  let inFlight = 0;
  let most = 0;
  const results = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await sleep(n * 5);
    inFlight--;
    return n * 10;
  });
  expect(results).toEqual([50, 10, 40, 20, 30]);
  expect(most).toBe(2);
  expect(await mapLimit([], 3, async () => 1)).toEqual([]);
});

test('withTimeout passes a result through and rejects, naming it, when too slow', async () => {
  await expect(withTimeout(Promise.resolve(7), 100, 'fast')).resolves.toBe(7);
  await expect(withTimeout(sleep(200), 20, 'the slow run')).rejects.toThrow('the slow run did not finish within 20 ms');
});
