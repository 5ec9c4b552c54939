import { readAhead } from './closed-runs';

/** A read per item that resolves only when the test says so, and a log of which were started. */
function controlledReads() {
  const started: string[] = [];
  const pending = new Map<string, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  const read = (item: string) => {
    started.push(item);
    return new Promise<string>((resolve, reject) => pending.set(item, { resolve, reject }));
  };
  return { started, pending, read };
}

test('asking for item i starts i and up to `ahead` after it, each once', () => {
  const { started, read } = controlledReads();
  const bodyOf = readAhead(['a', 'b', 'c', 'd', 'e'], read, 2);
  void bodyOf(0);
  expect(started).toEqual(['a', 'b', 'c']);
  void bodyOf(1);
  expect(started).toEqual(['a', 'b', 'c', 'd']);
  void bodyOf(3);
  expect(started).toEqual(['a', 'b', 'c', 'd', 'e']);
  void bodyOf(4);
  expect(started).toHaveLength(5);
});

test('each item gets its own read, whatever order the reads finish in', async () => {
  const { pending, read } = controlledReads();
  const bodyOf = readAhead(['a', 'b', 'c'], read, 5);
  const first = bodyOf(0);
  pending.get('c')!.resolve('C');
  pending.get('b')!.resolve('B');
  pending.get('a')!.resolve('A');
  await expect(first).resolves.toBe('A');
  await expect(bodyOf(1)).resolves.toBe('B');
  await expect(bodyOf(2)).resolves.toBe('C');
});

test('a read ahead that fails and is never asked for is no unhandled rejection; asked for, it rejects', async () => {
  const unhandled = jest.fn();
  process.on('unhandledRejection', unhandled);
  try {
    const { pending, read } = controlledReads();
    const bodyOf = readAhead(['a', 'b', 'c'], read, 2);
    const first = bodyOf(0);
    pending.get('b')!.reject(new Error('b is not closed yet'));
    pending.get('c')!.reject(new Error('c is gone'));
    pending.get('a')!.resolve('A');
    await expect(first).resolves.toBe('A');
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).not.toHaveBeenCalled();
    await expect(bodyOf(1)).rejects.toThrow('b is not closed yet');
  } finally {
    process.off('unhandledRejection', unhandled);
  }
});

test('an index past the items is a RangeError, not a silent undefined', () => {
  const bodyOf = readAhead(['a'], async (item) => item, 3);
  expect(() => bodyOf(1)).toThrow(RangeError);
});
