import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join, resolve } from 'node:path';
import type { Summary } from './stats';

/** Where result files go: `bench/results/`, whatever the working directory. */
export const RESULTS_DIR = resolve(__dirname, '..', 'results');

/** The machine a figure was measured on; every result and table carries it. */
export interface Machine {
  cpuModel: string;
  cores: number;
  totalMemoryGiB: number;
  node: string;
  os: string;
  /** 1-minute load average when the benchmark started: a busy machine explains odd figures. */
  loadAverage1m: number;
}

export function machine(): Machine {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    totalMemoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${type()} ${release()}`,
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

export const describeMachine = (m: Machine) =>
  `${m.cpuModel}, ${m.cores} cores, ${m.totalMemoryGiB} GiB, Node ${m.node}, ${m.os}, load ${m.loadAverage1m}`;

/** One row of a printed table: a series with its summary, or a single figure. */
export interface Row {
  metric: string;
  unit: string;
  summary?: Summary;
  value?: number | string;
}

const fmt = (value: number | string | undefined) => {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Number.isNaN(value)) return '–';
  return Number.isInteger(value) ? String(value) : value.toFixed(Math.abs(value) >= 100 ? 0 : 1);
};

/** Prints a table: metric, unit, n, min, median, p99, max (single figures fill the median column). */
export function printTable(
  title: string,
  rows: readonly Row[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): void {
  const header = ['metric', 'unit', 'n', 'min', 'median', 'p99', 'max'];
  const cells = rows.map((r) =>
    r.summary
      ? [
          r.metric,
          r.unit,
          fmt(r.summary.n),
          fmt(r.summary.min),
          fmt(r.summary.median),
          fmt(r.summary.p99),
          fmt(r.summary.max),
        ]
      : [r.metric, r.unit, '', '', fmt(r.value), '', ''],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  out('');
  out(title);
  out(line(header));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) out(line(c));
}

/** Writes `bench/results/<name>-<timestamp>.json` and returns its path. */
export function writeResult(name: string, result: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/** A table as printed: a title, a header and rows of cells (numbers formatted like {@link printTable}'s). */
export interface Grid {
  title: string;
  header: string[];
  rows: (number | string | undefined)[][];
  /** Lines printed under the table. */
  notes?: string[];
}

/** Formats a grid as lines: the first column left-aligned, the others right-aligned. */
export function formatGrid(grid: Grid): string[] {
  const cells = grid.rows.map((row) => grid.header.map((_, i) => fmt(row[i])));
  const widths = grid.header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    '',
    grid.title,
    line(grid.header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(line),
    ...(grid.notes ?? []).map((note) => `  ${note}`),
  ];
}

export function printGrid(grid: Grid, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  for (const line of formatGrid(grid)) out(line);
}
