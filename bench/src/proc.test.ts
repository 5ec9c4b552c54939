import { spawn } from 'node:child_process';
import { cpuSecondsOf, parseProcStat, treeTicks, type ProcStat } from './proc';

test('reads pid, parent and CPU ticks from a stat line whose command holds spaces and parentheses', () => {
  const line =
    '4242 (postgres: temporal (x) idle) S 4000 4000 4000 0 -1 4194560 512 0 0 0 ' +
    '120 30 7 3 20 0 1 0 5000 100000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0';
  expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 4000, ownTicks: 150, reapedChildrenTicks: 10 });
  expect(parseProcStat('not a stat line')).toBeUndefined();
});

test('a tree counts the root, its live descendants and what ended children used; others are left out', () => {
  const stats: ProcStat[] = [
    { pid: 1, ppid: 0, ownTicks: 1000, reapedChildrenTicks: 0 },
    { pid: 10, ppid: 1, ownTicks: 50, reapedChildrenTicks: 5 }, // the postmaster; 5 from backends that ended
    { pid: 11, ppid: 10, ownTicks: 20, reapedChildrenTicks: 0 },
    { pid: 12, ppid: 10, ownTicks: 30, reapedChildrenTicks: 0 },
    { pid: 13, ppid: 12, ownTicks: 1, reapedChildrenTicks: 0 },
    { pid: 20, ppid: 1, ownTicks: 400, reapedChildrenTicks: 0 }, // a sibling: not ours
  ];
  expect(treeTicks(stats, 10)).toBe(106);
  expect(treeTicks(stats, 20)).toBe(400);
  expect(treeTicks(stats, 99)).toBeUndefined();
});

test('a process counts its own CPU, or with its descendants when asked; one that does not exist has none', async () => {
  // A child that burns CPU: counted in this process's tree, not in this process alone.
  const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 400; while (Date.now() < end);']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const cpu = cpuSecondsOf({ self: process.pid, tree: process.pid, gone: 2 ** 22 + 12345 }, new Set(['tree']));
  await new Promise((resolve) => child.once('exit', resolve));
  expect(cpu.self).toBeGreaterThan(0);
  expect(cpu.tree! - cpu.self!).toBeGreaterThan(0.1);
  expect(cpu.gone).toBeUndefined();
});
