import { createActivities, type LockBackend, type WebhookEndpoints } from '@lockkeys/activities';
import {
  BULK_ADD_KEYS_WORKFLOW,
  LOCK_ID_SEARCH_ATTRIBUTE,
  MEMO_ORG_ID,
  ORG_ID_SEARCH_ATTRIBUTE,
  taskQueues,
  type BulkAddKeysInput,
  type BulkAddKeysWorkflow,
  type KeySpec,
  type RunSettings,
} from '@lockkeys/contracts';
import { ensureTemporalCli } from '@lockkeys/dev-stack';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { randomUUID } from 'node:crypto';
import { createLockkeysWorkers, type LockkeysWorkers } from '../worker/hosting';

export const LOCK_ID = defineSearchAttributeKey(LOCK_ID_SEARCH_ATTRIBUTE, SearchAttributeType.INT);
export const ORG_ID = defineSearchAttributeKey(ORG_ID_SEARCH_ATTRIBUTE, SearchAttributeType.KEYWORD);
export { WORKFLOW_BUNDLE_PATH as WORKFLOW_BUNDLE } from '../worker/hosting';

/** The real Temporal dev server, from our own CLI binary (never the SDK's download). */
export function startDevServer(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: ensureTemporalCli() },
      searchAttributes: [LOCK_ID, ORG_ID],
      extraArgs: ['--dynamic-config-value', 'system.enableActivityEagerExecution=true', ...extraArgs],
    },
  });
}

export const testSettings = (commandGapMs: number, over: Partial<RunSettings> = {}): RunSettings => ({
  commandGapMs,
  addKey: {
    activity: 'local',
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
  webhook: { retryWindowMs: 60_000, attemptTimeoutMs: 2_000 },
  ...over,
});

export const testKeys = (n: number, firstIndex = 10): KeySpec[] =>
  Array.from({ length: n }, (_, i) => ({
    keyUuid: `key-${i}-${randomUUID()}`,
    keyIndexNumber: firstIndex + i,
    userId: `user-${i}`,
  }));

/** lockkeys' workers on a task queue of their own, with `lockBackend`, `settings` and webhook endpoints. */
export async function testWorkers(
  env: TestWorkflowEnvironment,
  lockBackend: LockBackend,
  settings: RunSettings,
  endpoints: WebhookEndpoints = new Map(),
): Promise<{ workers: LockkeysWorkers; taskQueue: string }> {
  const taskQueue = `test-${randomUUID()}`;
  const activities = createActivities({
    lockBackend,
    runSettings: settings,
    temporal: { client: env.client, taskQueues: taskQueues(taskQueue) },
    webhooks: { endpoints, attemptTimeoutMs: settings.webhook.attemptTimeoutMs },
  });
  const workers = await createLockkeysWorkers({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities,
  });
  return { workers, taskQueue };
}

/** Starts one bulkAddKeys run the way the gateway does. */
export function startRun(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  input: Omit<BulkAddKeysInput, 'orgId' | 'requestedBy'>,
  workflowId = `test-${input.lockId}-${randomUUID()}`,
): Promise<WorkflowHandleWithFirstExecutionRunId<BulkAddKeysWorkflow>> {
  return env.client.workflow.start<BulkAddKeysWorkflow>(BULK_ADD_KEYS_WORKFLOW, {
    taskQueue,
    workflowId,
    args: [{ ...input, orgId: 'acme', requestedBy: 'tester' }],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: LOCK_ID, value: input.lockId },
      { key: ORG_ID, value: 'acme' },
    ]),
    memo: { [MEMO_ORG_ID]: 'acme' },
  });
}

export const until = async (probe: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
};
