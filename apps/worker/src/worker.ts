import { createActivities, HttpLockBackend } from '@lockkeys/activities';
import { taskQueues } from '@lockkeys/contracts';
import { createLockkeysWorkers, type LockkeysWorkers } from '@lockkeys/workflows/worker';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { WorkerConfig } from './config';

export { WORKFLOW_BUNDLE_PATH } from '@lockkeys/workflows/worker';

/**
 * lockkeys' workers for `config`, on connections the caller owns (and closes after `run()` settles): the native
 * one polls tasks, the client reaches the lock mutexes and starts webhook deliveries.
 */
export function createWorkers(
  config: WorkerConfig,
  connection: NativeConnection,
  client: Client,
): Promise<LockkeysWorkers> {
  const { taskQueue, namespace } = config.temporal;
  return createLockkeysWorkers({
    connection,
    namespace,
    taskQueue,
    activities: createActivities({
      lockBackend: new HttpLockBackend(config.lockBackend),
      runSettings: config.runSettings,
      temporal: { client, taskQueues: taskQueues(taskQueue) },
      webhooks: { endpoints: config.webhooks, attemptTimeoutMs: config.runSettings.webhook.attemptTimeoutMs },
    }),
    // Slots, cache and pollers (`WORKER_*`); each unset one keeps the SDK's default.
    tuning: config.workerTuning,
    // On SIGTERM the in-flight command to a lock finishes before the process goes.
    shutdownGraceTimeMs: config.shutdownGraceMs,
  });
}
