/** The plain peer's worker process: one Temporal Worker with the SDK's default options, on its own task queue. */
import { HttpLockBackend } from '@lockkeys/activities';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createPlainActivities } from './activities';
import { loadPlainWorkerConfig } from './config';
import { PLAIN_WORKER_READY } from './peer';

async function main(): Promise<void> {
  const config = loadPlainWorkerConfig();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect(config.temporal.connectionOptions);
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.taskQueue,
      workflowBundle: { codePath: config.workflowBundlePath },
      activities: createPlainActivities(new HttpLockBackend(config.lockBackend)),
    });
    const running = worker.run();
    process.stdout.write(`${PLAIN_WORKER_READY} on ${config.taskQueue}\n`);
    await running;
  } finally {
    await connection.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
