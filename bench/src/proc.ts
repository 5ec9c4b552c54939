import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

/** CPU time (user + system, all threads) a process has used, in seconds, from `/proc/<pid>/stat`. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields we want follow its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** What one process used while a {@link ProcessSampler} ran. */
export interface ProcessUsage {
  pid: number;
  maxRssMiB: number | null;
  cpuSeconds: number | null;
}

const MiB = 1024 * 1024;

/** Samples the RSS of some processes every `intervalMs` (keeping the peak) and their CPU time between start and stop. */
export class ProcessSampler {
  private readonly peakRss = new Map<string, number>();
  private readonly cpuAtStart = new Map<string, number | undefined>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: Readonly<Record<string, number>>,
    intervalMs = 250,
  ) {
    for (const [name, pid] of Object.entries(pids)) this.cpuAtStart.set(name, cpuSeconds(pid));
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      const rss = rssBytes(pid);
      if (rss !== undefined) this.peakRss.set(name, Math.max(rss, this.peakRss.get(name) ?? 0));
    }
  }

  /** Stops sampling; per process: peak RSS (MiB) and CPU seconds used since the sampler started. */
  stop(): Record<string, ProcessUsage> {
    clearInterval(this.timer);
    this.sample();
    const usage: Record<string, ProcessUsage> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const start = this.cpuAtStart.get(name);
      const end = cpuSeconds(pid);
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
