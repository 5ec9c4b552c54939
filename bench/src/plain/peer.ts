import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeySpec } from '@lockkeys/contracts';
import { startService, type RunningService } from '@lockkeys/dev-stack';
import type { TestStack } from '@lockkeys/testing';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { plainBulkAddKeys } from './workflows';

/** The plain peer's workflow type and task queue (its own: it never meets lockkeys' workers). */
export const PLAIN_WORKFLOW = 'plainBulkAddKeys';
export const PLAIN_TASK_QUEUE = 'plain-bulk-add-keys';
/** The line the plain worker prints once it polls. */
export const PLAIN_WORKER_READY = 'plain worker polling';

const quietLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  log: () => undefined,
  warn: (message: string) => process.stderr.write(`[plain bundle] ${message}\n`),
  error: (message: string) => process.stderr.write(`[plain bundle] ${message}\n`),
};

/** Bundles ./workflows once (`bundleWorkflowCode`) into `dir`; returns the file the plain worker loads. */
export async function bundlePlainWorkflows(dir: string): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quietLogger });
  const path = join(dir, 'plain-workflow-bundle.js');
  await writeFile(path, code);
  return path;
}

/** The plain peer's worker process, on the stack's server and simulator (the stack's app environment). */
export function startPlainWorker(
  stack: TestStack,
  bundlePath: string,
  print: (name: string, line: string) => void = () => undefined,
): Promise<RunningService> {
  return startService(
    {
      name: 'plain-worker',
      command: process.execPath,
      args: [join(__dirname, 'worker.js')],
      env: { ...stack.stack.appEnv, PLAIN_TASK_QUEUE, PLAIN_WORKFLOW_BUNDLE: bundlePath },
      readyLine: new RegExp(PLAIN_WORKER_READY),
      stopTimeoutMs: 30_000,
    },
    print,
  );
}

/** One plain run, started the bare way: `client.workflow.start`, nothing else. Returns its workflow ID. */
export async function startPlainRun(client: Client, lockId: number, keys: KeySpec[], gapMs: number): Promise<string> {
  const workflowId = `plain-${lockId}-${randomUUID()}`;
  await client.workflow.start<typeof plainBulkAddKeys>(PLAIN_WORKFLOW, {
    taskQueue: PLAIN_TASK_QUEUE,
    workflowId,
    args: [{ lockId, keys, gapMs }],
  });
  return workflowId;
}
