/**
 * `npm run bench -- [fanout|overhead|starts|auth|webhooks|listing|storm|all ...] [options]`: runs the benchmarks against real stacks on
 * 127.0.0.1, prints tables and writes `bench/results/<name>-<timestamp>.json`. `--help` lists everything.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, integer, parseValue } from '@lockkeys/config';
import { listingBench, webhooksBench } from './around';
import { authBench } from './auth';
import { describeTuning, ENGINES, log, withSession, type Engine, type StackTuning } from './bench-stack';
import { fanoutBench, type FanoutOptions, type FanoutResult } from './fanout';
import { overheadBench, type OverheadOptions, type OverheadResult } from './overhead';
import { describeMachine, machine, printGrid, printTable, writeResult, type Machine, type Row } from './report';
import { startsBench, type StartsOptions } from './starts';
import { stormBench } from './storm';
import { fanoutGrids, overheadGrids, verdictGrid, verdicts, type Verdict } from './tables';
import type { BenchOutcome } from './types';
import { DEFAULT_VARIANTS, VARIANTS, type VariantName } from './variants';

const BENCHMARKS = ['overhead', 'fanout', 'starts', 'auth', 'webhooks', 'listing', 'storm'] as const;
type BenchName = (typeof BENCHMARKS)[number];

const USAGE = `usage: npm run bench -- [fanout|overhead|starts|auth|webhooks|listing|storm|all ...] [options]     (no name: all)

benchmarks
  fanout     L locks × 5 keys started at once, for the plain Temporal peer, lockkeys (local) and lockkeys (remote)
             side by side on one stack: time from the first POST to the last key at its lock, keys/s, ratio
             lockkeys/plain, and where the cost goes (history events and workflow tasks per run and per key, from
             the histories of a sample of runs and their locks' workflows; CPU per process over the level and per key)
  overhead   one lock, 20 keys per run, rounds one after another, for the same three: gap at the lock minus
             KEY_COMMAND_GAP_MS (median, p99), its parts from the histories, and the same cost figures
  starts     (a) bare client.workflow.start vs (b) POST /BulkAddKeys through the gateway, no worker
  auth       the gateway's auth-path benchmark, pinned to one core
  webhooks   from a run closing to its completion webhook at a receiver on 127.0.0.1: runs closing one at a
             time, and a burst of runs closing together
  listing    GET /locks/{id}/BulkAddKeys on a lock with many closed runs (first page, limit=100, a cursor page,
             a status filter, a walk through all) beside the bare visibility call it stands on, same run
  storm      a dead webhook endpoint's cost to another organization: the same fan-out of lockkeys (local) for dev
             with nothing pending, then with --pending events of another organization waiting at its dead endpoint
  Every run checks from the simulator's journals that no gap is under KEY_COMMAND_GAP_MS and that every key
  arrived exactly once; violations are printed and recorded, never hidden.

options
  --engine dev|postgres|both   Temporal under the stack (default: both for fanout and overhead, dev for the others)
  --locks 100,200,500          fan-out levels
  --keys-per-lock 5            keys per run in the fan-out
  --keys 20                    keys per run in overhead
  --rounds 3                   overhead runs per variant (each on its own lock)
  --variants plain,local,remote  what to measure side by side (ratios need plain); also direct: lockkeys (local)
                               started with a bare client.workflow.start, to tell the gateway's share apart
  --history-sample 20          fan-out runs whose histories (and their locks' workflows') are counted
  --timeout 300                seconds one variant of one level may take before it is reported as broken
  --worker-env NAME=VALUE      extra environment of the lockkeys workers, repeatable: WORKER_MAX_CONCURRENT_ACTIVITIES,
                               WORKER_MAX_CONCURRENT_WORKFLOW_TASKS, WORKER_MAX_CACHED_WORKFLOWS,
                               WORKER_WORKFLOW_TASK_POLLERS, WORKER_ACTIVITY_TASK_POLLERS, KEYS_PER_WORKFLOW_RUN, …
                               (ADD_KEY_ACTIVITY is set by the variant)
  --lockkeys-workers N         lockkeys worker processes (default: dev 1, postgres 2, as the stacks run them)
  --lock-idle-ms 60000         LOCK_IDLE_MS of the workers (after each variant the bench ends the locks' workflows)
  --duration 10 --rate 200 --concurrency 20   starts: seconds per side, fixed rate, concurrency
  --sequential 20 --burst 100  webhooks: runs closing one at a time, then runs closing together
  --runs 1000 --samples 30     listing: closed runs on the lock, timed requests per kind
  --storm-locks 200 --pending 300  storm: the fan-out's locks (× --keys-per-lock), the dead endpoint's backlog
  --data-dir DIR               parent of the stacks' scratch dirs (e.g. /dev/shm)
  --sqlite-pragma NAME=VALUE   extra dev-server pragma, repeatable (it runs journal_mode=wal, synchronous=normal)
  --dynamic-config KEY=VALUE   extra dev-server dynamic config, repeatable, e.g. frontend.namespaceRPS.visibility=1000
                               (the postgres engine reads temporal/dynamicconfig/development-sql.yaml only)
  --print FILE                 print the tables of a fanout-* or overhead-* result file again (repeatable), run nothing
  -h, --help                   this text

examples
  npm run bench -- fanout overhead                          # the full comparison on both engines
  npm run bench -- fanout --engine postgres --locks 500 --variants plain,local
  npm run bench -- fanout --engine dev --worker-env WORKER_MAX_CONCURRENT_WORKFLOW_TASKS=10`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    engine: { type: 'string' },
    locks: { type: 'string', default: '100,200,500' },
    'keys-per-lock': { type: 'string', default: '5' },
    keys: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    variants: { type: 'string', default: DEFAULT_VARIANTS.join(',') },
    'history-sample': { type: 'string', default: '20' },
    timeout: { type: 'string', default: '300' },
    'worker-env': { type: 'string', multiple: true, default: [] },
    'lockkeys-workers': { type: 'string' },
    'lock-idle-ms': { type: 'string', default: '60000' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '20' },
    sequential: { type: 'string', default: '20' },
    'storm-locks': { type: 'string', default: '200' },
    pending: { type: 'string', default: '300' },
    burst: { type: 'string', default: '100' },
    runs: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '30' },
    'data-dir': { type: 'string' },
    'sqlite-pragma': { type: 'string', multiple: true, default: [] },
    'dynamic-config': { type: 'string', multiple: true, default: [] },
    print: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

/**
 * A whole number within bounds, by the apps' own rules (`@lockkeys/config`: plain decimals only), or exit with
 * the usage: runs stay bounded in count and time.
 */
function bounded(name: string, text: string, min: number, max: number): number {
  try {
    return parseValue(`--${name}`, integer({ min, max }), text) ?? min;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return usageError(error.message);
  }
}

function selected(): BenchName[] {
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const unknown = positionals.filter((p) => !(BENCHMARKS as readonly string[]).includes(p) && p !== 'all');
  if (unknown.length > 0) usageError(`unknown benchmark ${unknown.join(', ')}`);
  const named = positionals.filter((p): p is BenchName => (BENCHMARKS as readonly string[]).includes(p));
  return named.length === 0 || positionals.includes('all') ? [...BENCHMARKS] : named;
}

function engines(fallback: Engine[]): Engine[] {
  const given = values.engine;
  if (given === undefined) return fallback;
  if (given === 'both') return [...ENGINES];
  if ((ENGINES as readonly string[]).includes(given)) return [given as Engine];
  return usageError(`--engine must be dev, postgres or both, got "${given}"`);
}

const ASSIGNMENT = /^([A-Z][A-Z0-9_]*)=(.*)$/;
const PRAGMA = /^[a-z_]+=[A-Za-z0-9_]+$/;
const DYNAMIC_CONFIG = /^[A-Za-z][A-Za-z0-9_.]*=[A-Za-z0-9_."-]+$/;

function stackTuning(): StackTuning {
  const pragmas = values['sqlite-pragma'] ?? [];
  const badPragma = pragmas.find((p) => !PRAGMA.test(p));
  if (badPragma !== undefined) usageError(`--sqlite-pragma must look like cache_size=10000, got "${badPragma}"`);
  const dynamicConfig = values['dynamic-config'] ?? [];
  const badConfig = dynamicConfig.find((c) => !DYNAMIC_CONFIG.test(c));
  if (badConfig !== undefined)
    usageError(`--dynamic-config must look like frontend.namespaceRPS.visibility=1000, got "${badConfig}"`);
  const workerEnv: Record<string, string> = {};
  for (const assignment of values['worker-env'] ?? []) {
    const match = ASSIGNMENT.exec(assignment);
    if (!match) usageError(`--worker-env must look like WORKER_MAX_CACHED_WORKFLOWS=500, got "${assignment}"`);
    if (match[1] === 'ADD_KEY_ACTIVITY')
      usageError('ADD_KEY_ACTIVITY is set by each variant (--variants local,remote)');
    workerEnv[match[1]!] = match[2]!;
  }
  return {
    ...(values['data-dir'] !== undefined && { dataRoot: values['data-dir'] }),
    sqlitePragmas: pragmas,
    devDynamicConfig: dynamicConfig,
    workerEnv,
    ...(values['lockkeys-workers'] !== undefined && {
      lockkeysWorkers: bounded('lockkeys-workers', values['lockkeys-workers'], 1, 8),
    }),
    lockIdleMs: bounded('lock-idle-ms', values['lock-idle-ms']!, 1, 3_600_000),
  };
}

function variants(): VariantName[] {
  const list = values.variants!.split(',').map((v) => v.trim());
  const bad = list.filter((v) => !(VARIANTS as readonly string[]).includes(v));
  if (bad.length > 0 || list.length === 0)
    usageError(`--variants takes ${VARIANTS.join(', ')}; got "${values.variants}"`);
  // Plain first: the ratios are against it, and it warms the stack the same way for everyone.
  return VARIANTS.filter((v) => list.includes(v));
}

/** Writes one result file with the machine at start and end and the stack's tuning. */
function record(name: string, startedAt: string, host: Machine, body: Record<string, unknown>): void {
  const path = writeResult(name, { benchmark: name, startedAt, machine: host, machineAtEnd: machine(), ...body });
  process.stdout.write(`  → ${path}\n`);
}

/** `--print`: the tables of earlier result files, from their figures. */
function printResults(paths: readonly string[]): number {
  for (const path of paths) {
    const file = JSON.parse(readFileSync(path, 'utf8')) as {
      benchmark: string;
      engine: Engine;
      machine: Machine;
      results: unknown[];
      /** The table of a single-table benchmark (storm, webhooks, listing, …), in files since 2026-12-03. */
      title?: string;
      rows?: Row[];
      notes?: string[];
    };
    process.stdout.write(`\n${path}\nmachine: ${describeMachine(file.machine)}\n`);
    if (file.benchmark.startsWith('fanout-')) {
      const results = file.results as FanoutResult[];
      for (const grid of fanoutGrids(file.engine, results)) printGrid(grid);
      printGrid(verdictGrid(`Targets on ${file.engine} (fan-out)`, verdicts(file.engine, results, [])));
    } else if (file.benchmark.startsWith('overhead-')) {
      const results = file.results as OverheadResult[];
      for (const grid of overheadGrids(file.engine, results)) printGrid(grid);
      printGrid(verdictGrid(`Targets on ${file.engine} (overhead)`, verdicts(file.engine, [], results)));
    } else if (file.title !== undefined && file.rows !== undefined) {
      printTable(file.title, file.rows);
      for (const note of file.notes ?? []) process.stdout.write(`  ${note}\n`);
    } else {
      process.stdout.write(`  (${file.benchmark}: recorded without its table; its figures are in the file)\n`);
    }
  }
  return 0;
}

async function main(): Promise<number> {
  if ((values.print ?? []).length > 0) return printResults(values.print!);
  const names = selected();
  const tuning = stackTuning();
  const chosen = variants();
  const failures: string[] = [];
  const allVerdicts: Verdict[] = [];
  const fanoutOptions: FanoutOptions = {
    levels: values.locks!.split(',').map((text) => bounded('locks', text.trim(), 1, 5000)),
    keysPerLock: bounded('keys-per-lock', values['keys-per-lock']!, 1, 100),
    variants: chosen,
    timeoutMs: bounded('timeout', values.timeout!, 10, 3600) * 1000,
    historySample: bounded('history-sample', values['history-sample']!, 0, 5000),
  };
  const overheadOptions: OverheadOptions = {
    keys: bounded('keys', values.keys!, 2, 200),
    rounds: bounded('rounds', values.rounds!, 1, 20),
    variants: chosen,
  };
  const startsOptions: StartsOptions = {
    durationS: bounded('duration', values.duration!, 1, 120),
    rate: bounded('rate', values.rate!, 1, 10_000),
    concurrency: bounded('concurrency', values.concurrency!, 1, 1000),
    warmUpS: 2,
  };

  const compare = names.filter((n): n is 'overhead' | 'fanout' => n === 'overhead' || n === 'fanout');
  if (compare.length > 0) {
    for (const engine of engines(['dev', 'postgres'])) {
      const host = machine();
      const startedAt = new Date().toISOString();
      log(`${engine}: ${compare.join(' + ')} (load ${host.loadAverage1m})`);
      try {
        await withSession(engine, tuning, async (session) => {
          const common = {
            engine,
            tuning: describeTuning({ ...tuning, lockkeysWorkers: session.lockkeysWorkerCount }, engine),
          };
          let overhead: OverheadResult[] = [];
          let fanout: FanoutResult[] = [];
          if (compare.includes('overhead')) {
            const overheadHost = machine();
            const overheadStarted = new Date().toISOString();
            overhead = await overheadBench(session, overheadOptions);
            process.stdout.write(`\nmachine: ${describeMachine(overheadHost)}\n`);
            for (const grid of overheadGrids(engine, overhead)) printGrid(grid);
            record(`overhead-${engine}`, overheadStarted, overheadHost, {
              ...common,
              options: overheadOptions,
              results: overhead,
            });
          }
          if (compare.includes('fanout')) {
            const fanoutHost = machine();
            const fanoutStarted = new Date().toISOString();
            fanout = await fanoutBench(session, fanoutOptions);
            process.stdout.write(`\nmachine: ${describeMachine(fanoutHost)}\n`);
            for (const grid of fanoutGrids(engine, fanout)) printGrid(grid);
            record(`fanout-${engine}`, fanoutStarted, fanoutHost, {
              ...common,
              options: fanoutOptions,
              results: fanout,
            });
          }
          const found = verdicts(engine, fanout, overhead);
          allVerdicts.push(...found);
          printGrid(
            verdictGrid(`Targets on ${engine} (one run; started ${startedAt}, load then ${host.loadAverage1m})`, found),
          );
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push(`${engine} ${compare.join('+')}: ${message}`);
        process.stdout.write(`\n${engine} ${compare.join(' + ')}: FAILED — ${message}\n`);
      }
    }
  }

  const single: { name: string; run: () => Promise<BenchOutcome> }[] = [];
  if (names.includes('starts'))
    for (const engine of engines(['dev']))
      single.push({
        name: `starts-${engine}`,
        run: () => withSession(engine, tuning, (s) => startsBench(s, startsOptions)),
      });
  if (names.includes('auth')) single.push({ name: 'auth', run: async () => authBench() });
  if (names.includes('webhooks')) {
    const options = {
      sequential: bounded('sequential', values.sequential!, 1, 1000),
      burst: bounded('burst', values.burst!, 1, 5000),
    };
    for (const engine of engines(['dev']))
      single.push({ name: `webhooks-${engine}`, run: () => webhooksBench(engine, options) });
  }
  if (names.includes('storm')) {
    const options = {
      locks: bounded('storm-locks', values['storm-locks']!, 1, 5000),
      pending: bounded('pending', values.pending!, 1, 20_000),
      fanout: { keysPerLock: fanoutOptions.keysPerLock, timeoutMs: fanoutOptions.timeoutMs, historySample: 0 },
    };
    for (const engine of engines(['dev', 'postgres']))
      single.push({ name: `storm-${engine}`, run: () => stormBench(engine, tuning, options) });
  }
  if (names.includes('listing')) {
    const options = {
      runs: bounded('runs', values.runs!, 1, 20_000),
      samples: bounded('samples', values.samples!, 1, 1000),
    };
    for (const engine of engines(['dev']))
      single.push({ name: `listing-${engine}`, run: () => listingBench(engine, options) });
  }
  for (const step of single) {
    const host = machine();
    const startedAt = new Date().toISOString();
    log(`${step.name}: starting`);
    try {
      const outcome = await step.run();
      printTable(`${outcome.title}\nmachine: ${describeMachine(host)}`, outcome.rows);
      for (const note of outcome.notes) process.stdout.write(`  ${note}\n`);
      const { title, rows, notes, figures } = outcome;
      record(outcome.name, startedAt, host, { title, rows, notes, figures });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${step.name}: ${message}`);
      process.stdout.write(`\n${step.name}: FAILED — ${message}\n`);
    }
  }

  if (allVerdicts.length > 0 && compare.length > 0 && engines(['dev', 'postgres']).length > 1)
    printGrid(verdictGrid('Targets, all engines (one run each)', allVerdicts));
  if (failures.length > 0)
    process.stdout.write(`\n${failures.length} benchmarks failed:\n  ${failures.join('\n  ')}\n`);
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
