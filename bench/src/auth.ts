import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '@lockkeys/testing';
import type { BenchOutcome } from './types';

/** The gateway's own auth benchmark (written and owned by the gateway; compiled by its build). */
export const AUTH_BENCH_SOURCE = join(ROOT_DIR, 'apps', 'gateway', 'src', 'bench', 'auth.bench.ts');
export const AUTH_BENCH_SCRIPT = join(ROOT_DIR, 'apps', 'gateway', 'dist', 'bench', 'auth.bench.js');

/** One printed row of the auth bench: `<case>  <ops/s>  <µs/op>`. */
export interface AuthCase {
  name: string;
  opsPerSecond: number;
  microsPerOp: number;
}

const ROW = /^(.+?)\s{2,}([\d,]+)\s+([\d.]+)\s*$/;

/** The table rows of the auth bench's output; the header and other lines are skipped. */
export function parseAuthBenchOutput(stdout: string): AuthCase[] {
  return stdout.split('\n').flatMap((line) => {
    const match = ROW.exec(line);
    return match
      ? [{ name: match[1]!.trim(), opsPerSecond: Number(match[2]!.replace(/,/g, '')), microsPerOp: Number(match[3]) }]
      : [];
  });
}

/** Runs the gateway's auth bench on one core (taskset, when the machine has it) and collects its figures. */
export function authBench(): BenchOutcome {
  if (!existsSync(AUTH_BENCH_SCRIPT)) {
    const why = existsSync(AUTH_BENCH_SOURCE)
      ? `${AUTH_BENCH_SCRIPT} is not built yet: run \`pnpm --filter @lockkeys/gateway build\` (or \`pnpm -r build\`)`
      : `the gateway has no auth benchmark yet (${AUTH_BENCH_SOURCE} does not exist); nothing to run`;
    throw new Error(why);
  }
  const pinned = spawnSync('taskset', ['--version'], { encoding: 'utf8' }).status === 0;
  const [command, args] = pinned
    ? ['taskset', ['-c', '0', process.execPath, AUTH_BENCH_SCRIPT]]
    : [process.execPath, [AUTH_BENCH_SCRIPT]];
  const run = spawnSync(command, args as string[], { cwd: ROOT_DIR, encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`the auth bench exited with ${run.status ?? run.signal}:\n${run.stderr}`);
  const cases = parseAuthBenchOutput(run.stdout);
  if (cases.length === 0) throw new Error(`the auth bench printed no figures:\n${run.stdout}`);
  return {
    name: 'auth',
    title: `Auth path, one core${pinned ? ' (taskset -c 0)' : ''}: ${AUTH_BENCH_SCRIPT.slice(ROOT_DIR.length + 1)}`,
    rows: cases.map((c) => ({
      metric: c.name,
      unit: 'ops/s · µs/op',
      value: `${Math.round(c.opsPerSecond).toLocaleString('en-US')} · ${c.microsPerOp}`,
    })),
    notes: [],
    figures: { pinnedToOneCore: pinned, cases, stdout: run.stdout },
  };
}
