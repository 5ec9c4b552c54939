import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, mintJwt, startStack, type Stack, type StackPorts } from '@lockkeys/dev-stack';
import { DEV_API_KEY, DEV_JWT_SECRET } from '@lockkeys/contracts';
import { parsePrometheusText, type PromSample } from './prometheus';

/** The repository root (the bench runs from `bench/dist`). */
export const ROOT_DIR = resolve(__dirname, '..', '..');

/** The simulator's dev bearer token (LOCK_BACKEND_TOKEN default). */
export const LOCK_TOKEN = 'dev-lock-token';

/** A stack of the bench's own, on free loopback ports, in a temp data dir. */
export interface BenchStack {
  stack: Stack;
  ports: StackPorts;
  dataDir: string;
  workerMetricsUrl: string;
  /** Process ids of the services, for RSS and CPU sampling. */
  pids(): Record<string, number>;
}

export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function freePorts(): Promise<StackPorts> {
  return {
    temporal: await freePort(),
    temporalUi: await freePort(),
    simulator: await freePort(),
    gateway: await freePort(),
    workerHealth: await freePort(),
    workerMetrics: await freePort(),
  };
}

/** How the Temporal dev server of a bench stack keeps its SQLite file (to tell disk cost from our own). */
export interface StackTuning {
  /** Parent of the temp data dir (default: the OS temp dir; `/dev/shm` takes the disk out of the picture). */
  dataRoot?: string;
  /** `--sqlite-pragma NAME=VALUE` for the dev server (e.g. `journal_mode=wal`, `synchronous=normal`). */
  sqlitePragmas: string[];
}

/** The tuning, as recorded in every result file. */
export const describeTuning = (tuning: StackTuning) => ({
  dataRoot: tuning.dataRoot ?? tmpdir(),
  sqlitePragmas: tuning.sqlitePragmas,
});

/**
 * Starts a whole stack, runs `body`, and always stops the stack (each service by its pid) and deletes its
 * data dir — also on failure and on Ctrl-C, since the services run in their own process groups.
 */
export async function withStack<T>(
  label: string,
  env: NodeJS.ProcessEnv,
  tuning: StackTuning,
  body: (bench: BenchStack) => Promise<T>,
): Promise<T> {
  const dataDir = mkdtempSync(join(tuning.dataRoot ?? tmpdir(), `lockkeys-bench-${label}-`));
  const temporalArgs = tuning.sqlitePragmas.flatMap((pragma) => ['--sqlite-pragma', pragma]);
  const ports = await freePorts();
  let stack: Stack | undefined;
  const cleanUp = async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the ${label} stack`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const startedAt = Date.now();
    // Service output stays in each service's `output` ring; it is printed only when something fails.
    stack = await startStack({ rootDir: ROOT_DIR, dataDir, ports, env, temporalArgs, print: () => undefined });
    log(
      `${label}: stack up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (Temporal on ${stack.temporalAddress})`,
    );
    const running = stack;
    return await body({
      stack: running,
      ports,
      dataDir,
      workerMetricsUrl: `http://127.0.0.1:${ports.workerMetrics}/metrics`,
      pids: () => Object.fromEntries(Object.entries(running.services).map(([name, service]) => [name, service.pid])),
    });
  } catch (error) {
    for (const service of Object.values(stack?.services ?? {})) {
      log(`last lines of ${service.name}:\n  ${service.output.slice(-15).join('\n  ')}`);
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}

/** One command in the simulator's journal. */
export interface JournalEntry {
  at: number;
  keyIndexNumber: number;
  keyUuid: string;
  status: number;
}

export async function journal(simulatorUrl: string, lockId: number): Promise<JournalEntry[]> {
  const response = await fetch(`${simulatorUrl}/locks/${lockId}/commands`, {
    headers: { authorization: `Bearer ${LOCK_TOKEN}` },
  });
  if (response.status !== 200) throw new Error(`journal of lock ${lockId}: HTTP ${response.status}`);
  return ((await response.json()) as { commands: JournalEntry[] }).commands;
}

/** Gaps between consecutive commands of one lock's journal, whatever their answers. */
export const journalGaps = (commands: readonly JournalEntry[]) =>
  commands.slice(1).map((c, i) => c.at - commands[i]!.at);

/** Gaps between two consecutive commands both answered 201: the normal path, without retries. */
export const addedToAddedGaps = (commands: readonly JournalEntry[]) =>
  commands
    .slice(1)
    .flatMap((c, i) => (c.status === 201 && commands[i]!.status === 201 ? [c.at - commands[i]!.at] : []));

/** The worker's Prometheus exporter, parsed. */
export async function scrape(metricsUrl: string): Promise<PromSample[]> {
  const response = await fetch(metricsUrl);
  if (response.status !== 200) throw new Error(`${metricsUrl}: HTTP ${response.status}`);
  return parsePrometheusText(await response.text());
}

/** One key as the gateway takes it. */
export interface KeySpec {
  keyUuid: string;
  keyIndexNumber: number;
  userId: string;
}

export const keysFor = (lockId: number, count: number, tag: string): KeySpec[] =>
  Array.from({ length: count }, (_, i) => ({
    keyUuid: `${tag}-${lockId}-${i}`,
    keyIndexNumber: i,
    userId: `user-${i}`,
  }));

/** The headers a real client sends: a dev JWT (HS256, verified by the gateway) and the dev API key. */
export function gatewayHeaders(): Record<string, string> {
  return {
    authorization: `Bearer ${mintJwt(DEV_JWT_SECRET, { sub: 'bench', org: 'dev' })}`,
    'x-api-key': DEV_API_KEY,
    'content-type': 'application/json',
  };
}

/** `POST /locks/{lockId}/BulkAddKeys`; throws unless 202. */
export async function bulkAddKeys(
  gatewayUrl: string,
  headers: Record<string, string>,
  lockId: number,
  keys: KeySpec[],
): Promise<string> {
  const response = await fetch(`${gatewayUrl}/locks/${lockId}/BulkAddKeys`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ keys }),
  });
  const body = (await response.json()) as { instanceId?: string; message?: string };
  if (response.status !== 202 || body.instanceId === undefined) {
    throw new Error(`BulkAddKeys on lock ${lockId}: HTTP ${response.status} ${body.message ?? ''}`);
  }
  return body.instanceId;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `task` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** `promise`, or a rejection naming `what` after `ms` (the timer does not outlive the race). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
