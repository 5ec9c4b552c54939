import type { ProcessUsage } from './proc';

/** Groups the processes of a stack fall into, in the order tables show them. */
export const PROCESS_GROUPS = [
  'Temporal server',
  'PostgreSQL',
  'lockkeys workers',
  'plain worker',
  'gateway',
  'lock simulator',
  'bench',
  'other',
] as const;
export type ProcessGroup = (typeof PROCESS_GROUPS)[number];

/** The group of a process, by the name the bench gave it. */
export function processGroup(name: string): ProcessGroup {
  if (name === 'temporal' || name.startsWith('temporal-')) return 'Temporal server';
  if (name === 'postgres') return 'PostgreSQL';
  if (name === 'plain-worker') return 'plain worker';
  if (name === 'worker' || name.startsWith('worker-') || name.startsWith('lockkeys-worker')) return 'lockkeys workers';
  if (name === 'gateway') return 'gateway';
  if (name === 'lock-simulator') return 'lock simulator';
  if (name === 'bench') return 'bench';
  return 'other';
}

/** CPU of one process or group over a measured window: seconds, and milliseconds per key. */
export interface CpuShare {
  cpuSeconds: number;
  msPerKey: number;
}

/** CPU per process and per group over a window in which `keys` keys reached their locks. */
export interface CpuSplit {
  keys: number;
  processes: Record<string, CpuShare>;
  groups: Partial<Record<ProcessGroup, CpuShare>>;
  total: CpuShare;
  /** Processes whose CPU could not be read (gone, or not Linux). */
  unreadable: string[];
}

const share = (cpuSeconds: number, keys: number): CpuShare => ({
  cpuSeconds: Math.round(cpuSeconds * 100) / 100,
  msPerKey: keys > 0 ? Math.round(((cpuSeconds * 1000) / keys) * 100) / 100 : Number.NaN,
});

/** Splits the CPU the sampler measured by process and by group, per key. */
export function cpuSplit(usage: Readonly<Record<string, ProcessUsage>>, keys: number): CpuSplit {
  const processes: Record<string, CpuShare> = {};
  const groupSeconds = new Map<ProcessGroup, number>();
  const unreadable: string[] = [];
  let total = 0;
  for (const [name, { cpuSeconds }] of Object.entries(usage)) {
    if (cpuSeconds === null) {
      unreadable.push(name);
      continue;
    }
    processes[name] = share(cpuSeconds, keys);
    const group = processGroup(name);
    groupSeconds.set(group, (groupSeconds.get(group) ?? 0) + cpuSeconds);
    total += cpuSeconds;
  }
  const groups: Partial<Record<ProcessGroup, CpuShare>> = {};
  for (const group of PROCESS_GROUPS) {
    const seconds = groupSeconds.get(group);
    if (seconds !== undefined) groups[group] = share(seconds, keys);
  }
  return { keys, processes, groups, total: share(total, keys), unreadable };
}
