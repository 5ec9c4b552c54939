import { createActivities, type LockBackend } from '@lockkeys/activities';
import { admitRun } from '@lockkeys/admission';
import {
  taskQueues,
  type BulkAddKeysInput,
  type BulkAddKeysWorkflow,
  type KeySpec,
  type RunSettings,
  type WebhookEndpoints,
} from '@lockkeys/contracts';
import { eventually, keyIndexes, keysFor, startTemporalDevServer } from '@lockkeys/testing';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { createLockkeysWorkers, type LockkeysWorkers, type LockkeysWorkersOptions } from '../worker/hosting';

export { WORKFLOW_BUNDLE_PATH as WORKFLOW_BUNDLE } from '../worker/hosting';

/** The real Temporal dev server, from our own CLI binary (never the SDK's download), set up as everywhere else. */
export const startDevServer = startTemporalDevServer;

/**
 * In a Jest file: quiet SDK logs and the suite's own dev server (`args`: extra `temporal server start-dev` arguments),
 * started before its tests and torn down after them. Read `.env` in tests and hooks.
 */
export function devServerForSuite(args: string[] = []): { readonly env: TestWorkflowEnvironment } {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    env = await startDevServer(args);
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });
  return {
    get env() {
      if (env === undefined) throw new Error('the dev server starts in beforeAll: use it in tests and hooks');
      return env;
    },
  };
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
  lockIdleMs: 2_000,
  lockStartMarginMs: 60_000,
  webhook: { retryWindowMs: 60_000, attemptTimeoutMs: 2_000, probeIntervalMs: 30_000 },
  ...over,
});

/** `n` keys in slots `firstIndex…`, with uuids no other test uses (the scripted lock answers by uuid). */
export const testKeys = (n: number, firstIndex = 10): KeySpec[] =>
  keysFor(0, keyIndexes(n, firstIndex), `key-${randomUUID()}`);

/** lockkeys' workers on a task queue of their own, with `lockBackend`, `settings` and webhook endpoints. */
export async function testWorkers(
  env: TestWorkflowEnvironment,
  lockBackend: LockBackend,
  settings: RunSettings,
  endpoints: WebhookEndpoints = new Map(),
  /** Another set of workers on the same queues (`taskQueue`), or only some of them (`queues`). */
  only: Pick<LockkeysWorkersOptions, 'queues'> & { taskQueue?: string } = {},
): Promise<{ workers: LockkeysWorkers; taskQueue: string }> {
  const taskQueue = only.taskQueue ?? `test-${randomUUID()}`;
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
    queues: only.queues,
  });
  return { workers, taskQueue };
}

/** Starts one bulkAddKeys run the way the gateway does: admitted at its lock's workflow, then started. */
export async function startRun(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  input: Omit<BulkAddKeysInput, 'orgId' | 'requestedBy'> & { orgId?: string },
  workflowId = `test-${input.lockId}-${randomUUID()}`,
  maxActiveRuns = 20,
): Promise<WorkflowHandle<BulkAddKeysWorkflow>> {
  await admitRun(env.client, taskQueues(taskQueue), {
    instanceId: workflowId,
    input: { orgId: 'acme', ...input, requestedBy: 'tester' },
    requestHash: 'test',
    maxActiveRuns,
    acceptedAt: new Date(),
    deadline: Date.now() + 30_000,
  });
  return env.client.workflow.getHandle<BulkAddKeysWorkflow>(workflowId);
}

/** Waits until `probe` says true (errors count as not yet). */
export const until = (probe: () => Promise<boolean>, timeoutMs = 15_000) =>
  eventually(async () => ((await probe()) ? true : undefined), timeoutMs, 'the condition', 100);
