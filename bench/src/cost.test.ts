import { cpuSplit, processGroup } from './cost';

test.each([
  ['temporal', 'Temporal server'],
  ['temporal-history', 'Temporal server'],
  ['temporal-ui', 'Temporal server'],
  ['postgres', 'PostgreSQL'],
  ['lockkeys-worker-2', 'lockkeys workers'],
  ['worker-2', 'lockkeys workers'],
  ['plain-worker', 'plain worker'],
  ['gateway', 'gateway'],
  ['lock-simulator', 'lock simulator'],
  ['bench', 'bench'],
  ['something', 'other'],
])('%s belongs to %s', (name, group) => {
  expect(processGroup(name)).toBe(group);
});

test('CPU per process and per group, in seconds and ms per key; unreadable processes are named, not counted', () => {
  const usage = (cpuSeconds: number | null) => ({ pid: 1, maxRssMiB: null, cpuSeconds });
  const split = cpuSplit(
    {
      'temporal-history': usage(3),
      'temporal-frontend': usage(1),
      postgres: usage(2),
      'lockkeys-worker-1': usage(1.5),
      'lockkeys-worker-2': usage(0.5),
      gateway: usage(null),
    },
    500,
  );
  expect(split.processes['temporal-history']).toEqual({ cpuSeconds: 3, msPerKey: 6 });
  expect(split.groups).toEqual({
    'Temporal server': { cpuSeconds: 4, msPerKey: 8 },
    PostgreSQL: { cpuSeconds: 2, msPerKey: 4 },
    'lockkeys workers': { cpuSeconds: 2, msPerKey: 4 },
  });
  expect(split.total).toEqual({ cpuSeconds: 8, msPerKey: 16 });
  expect(split.unreadable).toEqual(['gateway']);
  expect(cpuSplit({}, 0).total.msPerKey).toBeNaN();
});
