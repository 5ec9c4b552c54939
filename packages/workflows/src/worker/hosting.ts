/**
 * How lockkeys' workflows are hosted: which workflow and activities run on which task queue. Not workflow code
 * (it is not bundled); the worker app and the tests both host the workflows through it, so the wiring exists once.
 */
import type { Activities } from '@lockkeys/activities';
import { taskQueues } from '@lockkeys/contracts';
import { type NativeConnection, Worker, type WorkerOptions, type State } from '@temporalio/worker';

/** The prebuilt workflow bundle (`pnpm --filter @lockkeys/workflows build`), the same for production and tests. */
export const WORKFLOW_BUNDLE_PATH = require.resolve('@lockkeys/workflows/workflow-bundle');

/** Options of the Temporal Worker that runs `bulkAddKeys` and `addKey` (the busy one). */
export type RunsWorkerTuning = Pick<
  WorkerOptions,
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions'
  | 'maxCachedWorkflows'
  | 'workflowTaskPollerBehavior'
  | 'activityTaskPollerBehavior'
>;

export interface LockkeysWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  /** `TEMPORAL_TASK_QUEUE`; the lock queues and webhook deliveries use queues derived from it. */
  taskQueue: string;
  activities: Activities;
  tuning?: RunsWorkerTuning;
  /** On shutdown, how long in-flight commands may take to finish. */
  shutdownGraceTimeMs?: number;
  /** Which of the three queues get a Worker (default all); a test may serve the locks' queues alone. */
  queues?: readonly (keyof ReturnType<typeof taskQueues>)[];
}

/** The three Temporal Workers of one lockkeys worker process, run and stopped together. */
export interface LockkeysWorkers {
  readonly workers: readonly Worker[];
  /** Runs until shutdown (a signal the Runtime handles, or {@link shutdown}); rejects if any worker fails. */
  run(): Promise<void>;
  /** Runs `fn` with the workers polling, then shuts them down. */
  runUntil<T>(fn: () => Promise<T>): Promise<T>;
  /** `RUNNING` once every worker polls; otherwise the first state that is not. */
  getState(): State;
  shutdown(): void;
}

/**
 * One Worker per task queue: runs (`bulkAddKeys`, `addKey` and the run's local activities), the locks' queues
 * (`lockQueue`), webhook endpoints (`webhookEndpoint`, `deliverWebhookEvents`). Separate queues keep an admission — which a
 * POST waits for — from waiting for a workflow-task slot that runs hold, and a slow receiver out of the lock
 * commands' slots.
 */
export async function createLockkeysWorkers(options: LockkeysWorkersOptions): Promise<LockkeysWorkers> {
  const queues = taskQueues(options.taskQueue);
  const { readRunSettings, lookUpRuns, addKey, announceRunClosed, deliverWebhookEvents } = options.activities;
  const common = {
    connection: options.connection,
    namespace: options.namespace,
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    ...(options.shutdownGraceTimeMs !== undefined && { shutdownGraceTime: options.shutdownGraceTimeMs }),
  };
  const serves = (queue: keyof typeof queues) => options.queues === undefined || options.queues.includes(queue);
  const workers = [
    serves('runs') &&
      (await Worker.create({
        ...common,
        ...options.tuning,
        taskQueue: queues.runs,
        activities: { readRunSettings, addKey, announceRunClosed },
      })),
    serves('locks') &&
      (await Worker.create({
        ...common,
        taskQueue: queues.locks,
        activities: { readRunSettings, lookUpRuns },
        // Most of a lock's tasks are a new lock's first (an admission a POST waits for): poll the normal queue as
        // much as the sticky one (the SDK's default gives it a fifth of the pollers).
        nonStickyToStickyPollRatio: 1,
      })),
    serves('webhooks') &&
      (await Worker.create({
        ...common,
        taskQueue: queues.webhooks,
        activities: { readRunSettings, deliverWebhookEvents },
      })),
  ].filter((worker): worker is Worker => worker !== false);
  const shutdown = () => {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  const run = async () => {
    // One failing worker stops the others, so the process never half-serves its queues.
    const runs = workers.map((worker) => worker.run().catch((error: unknown) => (shutdown(), Promise.reject(error))));
    await Promise.all(runs);
  };
  return {
    workers,
    run,
    async runUntil(fn) {
      const running = run();
      try {
        return await fn();
      } finally {
        shutdown();
        await running;
      }
    },
    getState: () => workers.map((worker) => worker.getState()).find((state) => state !== 'RUNNING') ?? 'RUNNING',
    shutdown,
  };
}
