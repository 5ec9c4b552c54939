import { createActivities, HttpLockBackend } from '@lockkeys/activities';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { WorkerConfig } from './config';

/** The prebuilt workflow bundle (`pnpm --filter @lockkeys/workflows build`). */
export const WORKFLOW_BUNDLE_PATH = require.resolve('@lockkeys/workflows/workflow-bundle');

/** A worker for `config`, on a connection the caller owns (and closes after `worker.run()` settles). */
export async function createWorker(config: WorkerConfig, connection: NativeConnection): Promise<Worker> {
  const lockBackend = new HttpLockBackend(config.lockBackend);
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    activities: createActivities({ lockBackend, runSettings: config.runSettings }),
    // On SIGTERM the in-flight command to a lock finishes before the process goes.
    shutdownGraceTime: config.shutdownGraceMs,
  });
}
