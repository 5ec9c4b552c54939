/**
 * `npm run bench -- [overhead|fanout|starts|auth ...] [--locks 100,200,500] [--rounds 3] [--keys 20]
 * [--duration 10] [--rate 200] [--concurrency 20] [--timeout 180] [--data-dir DIR] [--sqlite-pragma P=V]`: runs the benchmarks against real
 * stacks on 127.0.0.1, prints a table per benchmark and writes `bench/results/<name>-<timestamp>.json`.
 */
import { parseArgs } from 'node:util';
import { ConfigError, integer, parseValue } from '@lockkeys/config';
import { authBench } from './auth';
import { describeTuning, log, type StackTuning } from './bench-stack';
import { fanoutLevel } from './fanout';
import { overheadBench } from './overhead';
import { describeMachine, machine, printTable, writeResult } from './report';
import { startsBench } from './starts';
import type { BenchOutcome } from './types';

const BENCHMARKS = ['overhead', 'fanout', 'starts', 'auth'] as const;
type BenchName = (typeof BENCHMARKS)[number];

const USAGE = `usage: npm run bench -- [${BENCHMARKS.join('|')} ...] [--locks 100,200,500] [--rounds 3] [--keys 20]
                        [--duration 10] [--rate 200] [--concurrency 20] [--timeout 180]
                        [--data-dir /dev/shm] [--sqlite-pragma synchronous=off ...]`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    locks: { type: 'string', default: '100,200,500' },
    rounds: { type: 'string', default: '3' },
    keys: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '20' },
    timeout: { type: 'string', default: '180' },
    'data-dir': { type: 'string' },
    'sqlite-pragma': { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

/**
 * A whole number within bounds, by the apps' own rules (`@lockkeys/config`: plain decimals only), or exit with
 * the usage: runs stay bounded in count and time.
 */
function bounded(name: string, text: string, min: number, max: number): number {
  try {
    return parseValue(`--${name}`, integer({ min, max }), text) ?? min;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
}

function selected(): BenchName[] {
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const unknown = positionals.filter((p) => !(BENCHMARKS as readonly string[]).includes(p) && p !== 'all');
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}\n${USAGE}\n`);
    process.exit(2);
  }
  const named = positionals.filter((p): p is BenchName => (BENCHMARKS as readonly string[]).includes(p));
  return named.length === 0 || positionals.includes('all') ? [...BENCHMARKS] : named;
}

const GAP_MS = 1_000;

const PRAGMA = /^[a-z_]+=[A-Za-z0-9_]+$/;

/** Where the stacks keep Temporal's SQLite file, and how (the same for every benchmark of one invocation). */
function stackTuning(): StackTuning {
  const sqlitePragmas = values['sqlite-pragma'] ?? [];
  const bad = sqlitePragmas.find((p) => !PRAGMA.test(p));
  if (bad !== undefined) {
    process.stderr.write(`--sqlite-pragma must look like journal_mode=wal, got "${bad}"\n${USAGE}\n`);
    process.exit(2);
  }
  return { ...(values['data-dir'] !== undefined && { dataRoot: values['data-dir'] }), sqlitePragmas };
}

/** The benchmarks to run, one step per result file (fan-out: one per lock count). */
function plan(names: BenchName[]): { name: string; run: () => Promise<BenchOutcome> }[] {
  const steps: { name: string; run: () => Promise<BenchOutcome> }[] = [];
  const stack = stackTuning();
  for (const name of names) {
    if (name === 'overhead') {
      const options = {
        keys: bounded('keys', values.keys!, 2, 200),
        rounds: bounded('rounds', values.rounds!, 1, 20),
        gapMs: GAP_MS,
        stack,
      };
      steps.push({ name, run: () => overheadBench(options) });
    } else if (name === 'fanout') {
      const timeoutMs = bounded('timeout', values.timeout!, 10, 1800) * 1000;
      for (const text of values.locks!.split(',')) {
        const lockCount = bounded('locks', text.trim(), 1, 5000);
        const options = { locks: [lockCount], keysPerLock: 5, gapMs: GAP_MS, timeoutMs, historySample: 50, stack };
        steps.push({ name: `fanout-${lockCount}`, run: () => fanoutLevel(lockCount, options) });
      }
    } else if (name === 'starts') {
      const options = {
        durationS: bounded('duration', values.duration!, 1, 120),
        rate: bounded('rate', values.rate!, 1, 10_000),
        concurrency: bounded('concurrency', values.concurrency!, 1, 1000),
        warmUpS: 2,
        stack,
      };
      steps.push({ name, run: () => startsBench(options) });
    } else {
      steps.push({ name, run: async () => authBench() });
    }
  }
  return steps;
}

async function main(): Promise<number> {
  const steps = plan(selected());
  const failures: string[] = [];
  for (const step of steps) {
    const host = machine();
    const startedAt = new Date().toISOString();
    log(`${step.name}: starting`);
    try {
      const outcome = await step.run();
      const sqlite = describeTuning(stackTuning());
      const where =
        step.name === 'auth'
          ? ''
          : `\nTemporal SQLite under ${sqlite.dataRoot}, pragmas: ${sqlite.sqlitePragmas.join(' ') || 'CLI defaults'}`;
      printTable(`${outcome.title}\nmachine: ${describeMachine(host)}${where}`, outcome.rows);
      for (const note of outcome.notes) process.stdout.write(`  ${note}\n`);
      const path = writeResult(outcome.name, {
        benchmark: outcome.name,
        title: outcome.title,
        startedAt,
        machine: host,
        figures: outcome.figures,
      });
      process.stdout.write(`  → ${path}\n`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${step.name}: ${message}`);
      process.stdout.write(`\n${step.name}: FAILED — ${message}\n`);
    }
  }
  if (failures.length > 0)
    process.stdout.write(`\n${failures.length} of ${steps.length} benchmarks failed:\n  ${failures.join('\n  ')}\n`);
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
