import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Resident memory of a process in bytes (Linux `/proc/<pid>/status` VmRSS), or undefined if unreadable. */
export function rssBytes(pid: number): number | undefined {
  try {
    const line = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return line ? Number(line[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

let clockTicks: number | undefined;
/** Kernel clock ticks per second (`getconf CLK_TCK`; 100 on every common Linux). */
function ticksPerSecond(): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
  return clockTicks;
}

/** What `/proc/<pid>/stat` says about a process's CPU, in clock ticks. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** user + system time of the process itself, all threads. */
  ownTicks: number;
  /** user + system time of its children that ended and were waited for (`cutime + cstime`). */
  reapedChildrenTicks: number;
}

/** Parses one `/proc/<pid>/stat` line; undefined when it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  // The command name may hold spaces and parentheses: the fields we want follow its last ')'.
  const close = text.lastIndexOf(')');
  const pid = Number.parseInt(text, 10);
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  // Fields from 3 (state) on: ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  const fields = text.slice(close + 2).split(' ');
  const at = (field: number) => Number(fields[field - 3]);
  const values = [at(4), at(14), at(15), at(16), at(17)];
  if (values.some((v) => !Number.isFinite(v))) return undefined;
  const [ppid, utime, stime, cutime, cstime] = values as [number, number, number, number, number];
  return { pid, ppid, ownTicks: utime + stime, reapedChildrenTicks: cutime + cstime };
}

/**
 * CPU ticks of `root` and all its descendants: each live process's own time plus what its ended children used
 * (the kernel adds an ended child's time, its own children's included, to the parent that waited for it). So a
 * PostgreSQL postmaster counts every backend, live or gone; a difference of two readings is the tree's CPU between
 * them. Undefined when `root` is not among `stats`.
 */
export function treeTicks(stats: readonly ProcStat[], root: number): number | undefined {
  const children = new Map<number, ProcStat[]>();
  let rootStat: ProcStat | undefined;
  for (const stat of stats) {
    if (stat.pid === root) rootStat = stat;
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  if (rootStat === undefined) return undefined;
  let total = 0;
  const pending = [rootStat];
  for (let stat = pending.pop(); stat !== undefined; stat = pending.pop()) {
    total += stat.ownTicks + stat.reapedChildrenTicks;
    pending.push(...(children.get(stat.pid) ?? []));
  }
  return total;
}

/** Every process's stat line, read once (processes that end meanwhile are skipped). */
function allStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = parseProcStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (stat) stats.push(stat);
    } catch {
      // ended between the listing and the read
    }
  }
  return stats;
}

/**
 * CPU seconds used so far by each named process (undefined: not running, or not Linux): with its descendants for the
 * names in `trees` (PostgreSQL's backends), its own threads only for the others (the bench's children are the stack).
 */
export function cpuSecondsOf(
  pids: Readonly<Record<string, number>>,
  trees: ReadonlySet<string> = new Set(),
): Record<string, number | undefined> {
  let stats: ProcStat[];
  try {
    stats = allStats();
  } catch {
    return Object.fromEntries(Object.keys(pids).map((name) => [name, undefined]));
  }
  const ticks = ticksPerSecond();
  return Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => {
      const used = trees.has(name) ? treeTicks(stats, pid) : stats.find((stat) => stat.pid === pid)?.ownTicks;
      return [name, used === undefined ? undefined : used / ticks];
    }),
  );
}

/** What one process (with its descendants) used while a {@link ProcessSampler} ran. */
export interface ProcessUsage {
  pid: number;
  maxRssMiB: number | null;
  cpuSeconds: number | null;
}

const MiB = 1024 * 1024;

/**
 * Samples the RSS of some processes every `intervalMs` (keeping the peak) and the CPU time of each between start
 * and stop (with its descendants for the names in `trees`).
 */
export class ProcessSampler {
  private readonly peakRss = new Map<string, number>();
  private readonly cpuAtStart: Record<string, number | undefined>;
  private readonly timer: NodeJS.Timeout;
  readonly startedAt = Date.now();

  constructor(
    private readonly pids: Readonly<Record<string, number>>,
    private readonly trees: ReadonlySet<string> = new Set(),
    intervalMs = 500,
  ) {
    this.cpuAtStart = cpuSecondsOf(pids, trees);
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      const rss = rssBytes(pid);
      if (rss !== undefined) this.peakRss.set(name, Math.max(rss, this.peakRss.get(name) ?? 0));
    }
  }

  /** Stops sampling; per process: peak RSS (MiB, the process itself) and CPU seconds since start. */
  stop(): Record<string, ProcessUsage> {
    clearInterval(this.timer);
    this.sample();
    const cpuAtEnd = cpuSecondsOf(this.pids, this.trees);
    const usage: Record<string, ProcessUsage> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const start = this.cpuAtStart[name];
      const end = cpuAtEnd[name];
      const peak = this.peakRss.get(name);
      usage[name] = {
        pid,
        maxRssMiB: peak === undefined ? null : Math.round((peak / MiB) * 10) / 10,
        cpuSeconds: start === undefined || end === undefined ? null : Math.round((end - start) * 100) / 100,
      };
    }
    return usage;
  }
}
