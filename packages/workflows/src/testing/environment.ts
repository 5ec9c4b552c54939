import { createActivities } from '@lockkeys/activities';
import {
  BULK_ADD_KEYS_WORKFLOW,
  LOCK_ID_SEARCH_ATTRIBUTE,
  type BulkAddKeysInput,
  type KeySpec,
  type RunSettings,
} from '@lockkeys/contracts';
import { ensureTemporalCli } from '@lockkeys/dev-stack';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import type { ScriptedLockBackend } from './scripted-lock-backend';

export const LOCK_ID = defineSearchAttributeKey(LOCK_ID_SEARCH_ATTRIBUTE, SearchAttributeType.INT);
/** The prebuilt bundle the worker runs in production; tests and replays use the same one. */
export const WORKFLOW_BUNDLE = require.resolve('@lockkeys/workflows/workflow-bundle');

/** The real Temporal dev server, from our own CLI binary (never the SDK's download). */
export function startDevServer(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: ensureTemporalCli() },
      searchAttributes: [LOCK_ID],
      extraArgs,
    },
  });
}

export const testSettings = (commandGapMs: number, over: Partial<RunSettings> = {}): RunSettings => ({
  commandGapMs,
  addKey: {
    initialIntervalMs: 1_000,
    backoffCoefficient: 2,
    maximumIntervalMs: 10_000,
    maximumAttempts: 5,
    startToCloseTimeoutMs: 5_000,
    scheduleToCloseTimeoutMs: 60_000,
  },
  maxKeysPerRun: 1_000,
  lockHolderCheckIntervalMs: 5_000,
  lockMutexIdleMs: 2_000,
  webhook: { retryWindowMs: 60_000, attemptTimeoutMs: 1_000 },
  ...over,
});

export const testKeys = (n: number, firstIndex = 10): KeySpec[] =>
  Array.from({ length: n }, (_, i) => ({
    keyUuid: `key-${i}-${randomUUID()}`,
    keyIndexNumber: firstIndex + i,
    userId: `user-${i}`,
  }));

/** A worker on its own task queue with `lockBackend` and `settings`. */
export async function testWorker(
  env: TestWorkflowEnvironment,
  lockBackend: ScriptedLockBackend,
  settings: RunSettings,
) {
  const taskQueue = `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: WORKFLOW_BUNDLE },
    activities: createActivities({ lockBackend, runSettings: settings, temporal: { client: env.client, taskQueue } }),
  });
  return { worker, taskQueue };
}

/** Starts one bulkAddKeys run the way the gateway does. */
export function startRun(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  input: Omit<BulkAddKeysInput, 'orgId' | 'requestedBy'>,
  workflowId = `test-${input.lockId}-${randomUUID()}`,
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  return env.client.workflow.start(BULK_ADD_KEYS_WORKFLOW, {
    taskQueue,
    workflowId,
    args: [{ ...input, orgId: 'acme', requestedBy: 'tester' }],
    typedSearchAttributes: new TypedSearchAttributes([{ key: LOCK_ID, value: input.lockId }]),
    memo: { orgId: 'acme' },
  });
}

export const until = async (probe: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
};
