import { tmpdir } from 'node:os';
import { LOCK_QUEUE_WORKFLOW, type KeySpec } from '@lockkeys/contracts';
import type { RunningService } from '@lockkeys/dev-stack';
import { GatewayClient, mapLimit, withTestStack, type StackEngine, type TestStack } from '@lockkeys/testing';
import type { Client } from '@temporalio/client';
import { startLockkeysRunBare } from './lockkeys-start';
import { bundlePlainWorkflows, startPlainRun, startPlainWorker } from './plain/peer';
import { addKeyActivity, runWorkflowType, type VariantName } from './variants';

export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export type Engine = StackEngine;
export const ENGINES: readonly Engine[] = ['dev', 'postgres'];

/** The gap every benchmark runs with: KEY_COMMAND_GAP_MS of lockkeys, the plain peer's sleep, the simulator's minimum. */
export const GAP_MS = 1_000;

/** Processes whose CPU counts with their descendants: PostgreSQL forks a backend per connection. */
export const WITH_DESCENDANTS: ReadonlySet<string> = new Set(['postgres']);

/** How the bench's stacks are set up, the same for every benchmark of one invocation. */
export interface StackTuning {
  /** Parent of the temp data dir (default: the OS temp dir; `/dev/shm` takes the disk out of the picture). */
  dataRoot?: string;
  /** Extra `--sqlite-pragma NAME=VALUE` for the dev server (it already runs WAL with synchronous=normal). */
  sqlitePragmas: string[];
  /** Extra `--dynamic-config-value KEY=VALUE` for the dev server (the postgres engine has its file in temporal/). */
  devDynamicConfig: string[];
  /** Extra environment of the lockkeys workers (`WORKER_*` tuning, `KEYS_PER_WORKFLOW_RUN`, …). */
  workerEnv: Record<string, string>;
  /** lockkeys worker processes per variant; default as the stack runs them (dev 1, postgres 2). */
  lockkeysWorkers?: number;
  /** `LOCK_IDLE_MS` of the workers (default the product's 60 s). */
  lockIdleMs: number;
  /** Extra environment of every app of the stack (a benchmark's `WEBHOOKS_FILE`, `API_KEYS_FILE`). */
  appEnv?: Record<string, string>;
}

/** The tuning, as recorded in every result file. */
export const describeTuning = (tuning: StackTuning, engine?: Engine) => ({
  ...(engine !== undefined && { engine }),
  dataRoot: tuning.dataRoot ?? tmpdir(),
  sqlitePragmas: tuning.sqlitePragmas,
  devDynamicConfig: tuning.devDynamicConfig,
  workerEnv: tuning.workerEnv,
  lockkeysWorkers: tuning.lockkeysWorkers ?? null,
  lockIdleMs: tuning.lockIdleMs,
});

/** Twice the gateway's own bound on a POST (ADMISSION_TIMEOUT_MS, 60 s): it answers, 202 or 503, before this. */
const BENCH_POST_TIMEOUT_MS = 120_000;

/** The apps' environment in every bench stack. */
const benchEnv = (tuning: StackTuning): NodeJS.ProcessEnv => ({
  LOG_LEVEL: 'warn',
  KEY_COMMAND_GAP_MS: String(GAP_MS),
  LOCK_SIM_MIN_GAP_MS: String(GAP_MS),
  LOCK_IDLE_MS: String(tuning.lockIdleMs),
  // The dev API key's budget (120/min) would turn most of a fan-out into 429s.
  RATE_LIMIT_PER_MINUTE: '1000000',
  ...tuning.appEnv,
});

/**
 * One engine's stack for a whole invocation: Temporal (dev server, or the postgres engine), simulator and gateway
 * from a `TestStack`; the workers of each variant started and stopped around it, so every variant meets the same
 * server and simulator and none competes with another's idle workers.
 */
export class BenchSession {
  private lastLockId = 0;
  /**
   * The dev credentials with a patient timeout: a fan-out of hundreds of POSTs at once on a loaded server may answer
   * after the tests' 30 s, and a POST the bench gave up on is still admitted (its run would count as unexpected).
   */
  private readonly gateway: GatewayClient;

  constructor(
    readonly engine: Engine,
    readonly stack: TestStack,
    readonly client: Client,
    readonly tuning: StackTuning,
    private readonly plainBundle: string,
  ) {
    this.gateway = new GatewayClient(stack.gatewayUrl, { sub: 'bench', timeoutMs: BENCH_POST_TIMEOUT_MS });
  }

  /** Lock ids never used before in this session: no journal, no lock workflow of an earlier measurement. */
  nextLockIds(count: number): number[] {
    const first = this.lastLockId + 1;
    this.lastLockId += count;
    return Array.from({ length: count }, (_, i) => first + i);
  }

  get lockkeysWorkerCount(): number {
    return this.tuning.lockkeysWorkers ?? (this.engine === 'postgres' ? 2 : 1);
  }

  /** Starts the variant's workers (plain: its own worker; lockkeys: its processes), runs `body`, stops them. */
  async withWorkers<T>(
    variant: VariantName,
    body: (workers: Record<string, RunningService>) => Promise<T>,
  ): Promise<T> {
    const workers: Record<string, RunningService> = {};
    try {
      if (variant === 'plain') {
        workers['plain-worker'] = await startPlainWorker(this.stack, this.plainBundle);
      } else {
        for (let i = 1; i <= this.lockkeysWorkerCount; i++) {
          workers[`lockkeys-worker-${i}`] = await this.stack.startExtraWorker({
            ...this.tuning.workerEnv,
            ADD_KEY_ACTIVITY: addKeyActivity(variant),
          });
        }
      }
      return await body(workers);
    } finally {
      for (const worker of Object.values(workers)) await worker.stop();
    }
  }

  /** Every process that counts, by name: Temporal (each server process, PostgreSQL), simulator, gateway, workers, bench. */
  pids(workers: Record<string, RunningService>): Record<string, number> {
    const pids: Record<string, number> = {};
    const { services, engine } = this.stack.stack;
    if (services.temporal) pids.temporal = services.temporal.pid;
    for (const [name, service] of Object.entries(engine?.services ?? {})) pids[name] = service.pid;
    if (services['lock-simulator']) pids['lock-simulator'] = services['lock-simulator'].pid;
    if (services.gateway) pids.gateway = services.gateway.pid;
    for (const [name, worker] of Object.entries(workers)) pids[name] = worker.pid;
    pids.bench = process.pid;
    return pids;
  }

  /** Starts one run of `variant`: plain and direct with a bare `client.workflow.start`, lockkeys through the gateway. */
  async startRun(variant: VariantName, lockId: number, keys: KeySpec[]): Promise<string> {
    if (variant === 'plain') return startPlainRun(this.client, lockId, keys, GAP_MS);
    if (variant === 'direct') return startLockkeysRunBare(this.client, lockId, keys);
    return (await this.gateway.startRun(lockId, keys)).instanceId;
  }

  /** Closed runs of the variant's workflow type, from visibility. */
  async closedRuns(variant: VariantName): Promise<number> {
    const query = `WorkflowType = '${runWorkflowType(variant)}' AND ExecutionStatus != 'Running'`;
    return (await this.client.workflow.count(query)).count;
  }

  /**
   * Ends the locks' workflows a measurement left (empty once its runs closed; they would end on their own after
   * `LOCK_IDLE_MS`), so the next variant pays for none of their timers. Call it after their histories were sampled.
   */
  async endLockWorkflows(): Promise<{ ended: number }> {
    const ids: string[] = [];
    for await (const execution of this.client.workflow.list({
      query: `WorkflowType = '${LOCK_QUEUE_WORKFLOW}' AND ExecutionStatus = 'Running'`,
    })) {
      ids.push(execution.workflowId);
    }
    await mapLimit(ids, 16, (id) =>
      this.client.workflow
        .getHandle(id)
        .terminate('bench: the measurement is over')
        .catch(() => undefined),
    );
    return { ended: ids.length };
  }
}

/**
 * Starts the engine's stack (stopping its own workers: each variant brings its own), bundles the plain peer's
 * workflows, runs `body`, and always stops everything — each process by its pid — also on failure and Ctrl-C.
 */
export async function withSession<T>(
  engine: Engine,
  tuning: StackTuning,
  body: (session: BenchSession) => Promise<T>,
): Promise<T> {
  const startedAt = Date.now();
  return withTestStack(
    {
      name: `bench-${engine}`,
      clientName: 'bench',
      engine,
      env: benchEnv(tuning),
      ...(engine === 'dev' && {
        temporalArgs: [
          ...tuning.sqlitePragmas.flatMap((p) => ['--sqlite-pragma', p]),
          ...tuning.devDynamicConfig.flatMap((c) => ['--dynamic-config-value', c]),
        ],
      }),
      ...(tuning.dataRoot !== undefined && { dataRoot: tuning.dataRoot }),
    },
    async (stack) => {
      for (const name of ['worker', 'worker-2'] as const) await stack.services[name]?.stop();
      const plainBundle = await bundlePlainWorkflows(stack.dataDir);
      log(
        `${engine}: stack up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (Temporal on ${stack.temporalAddress})`,
      );
      const session = new BenchSession(engine, stack, await stack.temporalClient(), tuning, plainBundle);
      return body(session);
    },
    log,
  );
}
