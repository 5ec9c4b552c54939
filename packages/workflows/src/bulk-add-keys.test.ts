import { createActivities } from '@lockkeys/activities';
import {
  BULK_ADD_KEYS_WORKFLOW,
  LOCK_ID_SEARCH_ATTRIBUTE,
  progressQuery,
  type BulkAddKeysInput,
  type BulkAddKeysProgress,
  type KeySpec,
  type RunSettings,
} from '@lockkeys/contracts';
import { ensureTemporalCli } from '@lockkeys/dev-stack';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { gapsBetween, LockBackendFailureType, ScriptedLockBackend } from './testing/scripted-lock-backend';

const LOCK_ID = defineSearchAttributeKey(LOCK_ID_SEARCH_ATTRIBUTE, SearchAttributeType.INT);
const BUNDLE = require.resolve('@lockkeys/workflows/workflow-bundle');

const settings = (commandGapMs: number): RunSettings => ({
  commandGapMs,
  addKey: {
    initialIntervalMs: 1_000,
    backoffCoefficient: 2,
    maximumIntervalMs: 10_000,
    maximumAttempts: 5,
    startToCloseTimeoutMs: 5_000,
    scheduleToCloseTimeoutMs: 60_000,
  },
});

const keys = (n: number): KeySpec[] =>
  Array.from({ length: n }, (_, i) => ({ keyUuid: `key-${i}-${randomUUID()}`, keyIndexNumber: 10 + i, userId: `user-${i}` }));

Runtime.install({ logger: new DefaultLogger('WARN') });

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  // The real Temporal dev server, from our own CLI binary (never the SDK's download).
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, searchAttributes: [LOCK_ID] },
  });
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

/** Runs one workflow to its end on a fresh worker with `lockBackend`. */
async function run(
  input: Omit<BulkAddKeysInput, 'orgId' | 'requestedBy'>,
  lockBackend: ScriptedLockBackend,
  runSettings: RunSettings,
  duringRun?: (workflowId: string) => Promise<void>,
): Promise<BulkAddKeysProgress> {
  const taskQueue = `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: BUNDLE },
    activities: createActivities({ lockBackend, runSettings }),
  });
  return worker.runUntil(async () => {
    const workflowId = `test-${randomUUID()}`;
    const handle = await env.client.workflow.start(BULK_ADD_KEYS_WORKFLOW, {
      taskQueue,
      workflowId,
      args: [{ ...input, orgId: 'acme', requestedBy: 'tester' }],
      typedSearchAttributes: new TypedSearchAttributes([{ key: LOCK_ID, value: input.lockId }]),
    });
    await duringRun?.(workflowId);
    return (await handle.result()) as BulkAddKeysProgress;
  });
}

describe('bulkAddKeys on the real Temporal dev server', () => {
  test('sends every key once, in request order, at least the configured gap apart', async () => {
    const backend = new ScriptedLockBackend();
    const input = { lockId: 7, keys: keys(4) };
    const result = await run(input, backend, settings(1_000));

    expect(backend.commands.map((c) => c.key)).toEqual(input.keys);
    expect(backend.commands.every((c) => c.lockId === 7)).toBe(true);
    for (const gap of gapsBetween(backend.commands)) expect(gap).toBeGreaterThanOrEqual(1_000);
    expect(result.summary).toEqual({ total: 4, added: 4, failed: 0, pending: 0, cancelled: 0 });
    expect(result.keys.map((k) => [k.status, k.attempts, k.error])).toEqual(Array(4).fill(['added', 1, null]));
  });

  test('a key the lock refuses with 409 is failed, the others are added', async () => {
    const input = { lockId: 8, keys: keys(3) };
    const backend = new ScriptedLockBackend().script(input.keys[1]!.keyUuid, LockBackendFailureType.SlotOccupied);
    const result = await run(input, backend, settings(100));

    expect(backend.commands).toHaveLength(3); // final: not retried
    expect(result.keys.map((k) => k.status)).toEqual(['added', 'failed', 'added']);
    expect(result.keys[1]).toMatchObject({ attempts: 1, error: { type: 'SlotOccupied' } });
    expect(result.summary).toMatchObject({ added: 2, failed: 1 });
  });

  test('a lock that answers 503 twice, then takes the key: added after 3 attempts at least 1 s apart', async () => {
    const input = { lockId: 9, keys: keys(1) };
    const backend = new ScriptedLockBackend().script(
      input.keys[0]!.keyUuid,
      LockBackendFailureType.LockOffline,
      LockBackendFailureType.LockOffline,
    );
    const result = await run(input, backend, settings(100));

    expect(backend.commands).toHaveLength(3);
    for (const gap of gapsBetween(backend.commands)) expect(gap).toBeGreaterThanOrEqual(1_000);
    expect(result.keys[0]).toMatchObject({ status: 'added', attempts: 3, error: null });
  });

  test('retries never come sooner than the command gap, even when the retry policy says sooner', async () => {
    const input = { lockId: 10, keys: keys(1) };
    const backend = new ScriptedLockBackend().script(input.keys[0]!.keyUuid, LockBackendFailureType.LockBusy);
    const fast = settings(1_500);
    fast.addKey.initialIntervalMs = 100;
    await run(input, backend, fast);

    expect(backend.commands).toHaveLength(2);
    expect(gapsBetween(backend.commands)[0]).toBeGreaterThanOrEqual(1_500);
  });

  test('an unknown lock (404) fails every remaining key at once without more commands', async () => {
    const input = { lockId: 11, keys: keys(3) };
    const backend = new ScriptedLockBackend().script(input.keys[0]!.keyUuid, LockBackendFailureType.LockNotFound);
    const result = await run(input, backend, settings(100));

    expect(backend.commands).toHaveLength(1);
    expect(result.keys.map((k) => [k.status, k.error?.type])).toEqual(Array(3).fill(['failed', 'LockNotFound']));
    expect(result.summary).toMatchObject({ failed: 3, added: 0 });
  });

  test('attempts exhausted: the key is failed with the last reason and the run goes on', async () => {
    const input = { lockId: 12, keys: keys(2) };
    const backend = new ScriptedLockBackend().script(input.keys[0]!.keyUuid, ...Array(5).fill(LockBackendFailureType.LockOffline));
    const few = settings(100);
    few.addKey.maximumAttempts = 2;
    few.addKey.initialIntervalMs = 1_000;
    const result = await run(input, backend, few);

    expect(backend.commands.map((c) => c.key.keyUuid)).toEqual([input.keys[0]!.keyUuid, input.keys[0]!.keyUuid, input.keys[1]!.keyUuid]);
    expect(result.keys[0]).toMatchObject({ status: 'failed', attempts: 2, error: { type: 'LockOffline' } });
    expect(result.keys[1]).toMatchObject({ status: 'added' });
  });

  test('progress is readable while the run goes on', async () => {
    const input = { lockId: 13, keys: keys(3) };
    const backend = new ScriptedLockBackend();
    let midRun: BulkAddKeysProgress | undefined;
    await run(input, backend, settings(1_000), async (workflowId) => {
      const handle = env.client.workflow.getHandle(workflowId);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const progress = await handle.query(progressQuery);
        if (progress.summary.added >= 1) {
          midRun = progress;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    expect(midRun?.summary.added).toBeGreaterThanOrEqual(1);
    expect(midRun?.summary.pending).toBeGreaterThanOrEqual(1);
    expect(midRun?.keys[2]?.status).toBe('pending');
  });
});
