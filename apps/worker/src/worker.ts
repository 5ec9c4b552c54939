import { createActivities, HttpLockBackend } from '@lockkeys/activities';
import type { Client } from '@temporalio/client';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { WorkerConfig } from './config';

/** The prebuilt workflow bundle (`pnpm --filter @lockkeys/workflows build`). */
export const WORKFLOW_BUNDLE_PATH = require.resolve('@lockkeys/workflows/workflow-bundle');

/**
 * A worker for `config`, on connections the caller owns (and closes after `worker.run()` settles): the
 * native one polls tasks, the client signals the per-lock mutex workflows.
 */
export async function createWorker(
  config: WorkerConfig,
  connection: NativeConnection,
  client: Client,
): Promise<Worker> {
  const lockBackend = new HttpLockBackend(config.lockBackend);
  return Worker.create({
    // Slots, cache and pollers (`WORKER_*`); each unset one keeps the SDK's default.
    ...config.workerTuning,
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    activities: createActivities({
      lockBackend,
      runSettings: config.runSettings,
      temporal: { client, taskQueue: config.temporal.taskQueue },
    }),
    // On SIGTERM the in-flight command to a lock finishes before the process goes.
    shutdownGraceTime: config.shutdownGraceMs,
  });
}
