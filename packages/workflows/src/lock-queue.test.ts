import { randomUUID } from 'node:crypto';
import { AdmissionTimeoutError, admitAtLock, admitRun, LockFullError, type AdmittedRun } from '@lockkeys/admission';
import {
  BULK_ADD_KEYS_WORKFLOW,
  LOCK_WORKFLOW_TASK_TIMEOUT_MS,
  taskQueues,
  type BulkAddKeysWorkflow,
} from '@lockkeys/contracts';
import { WorkflowNotFoundError } from '@temporalio/client';
import { devServerForSuite, testKeys, testSettings, testWorkers, until } from './testing/environment';
import { gapsBetween, ScriptedLockBackend } from './testing/scripted-lock-backend';

/** The lock's workflow on a real dev server: admission, acceptance order, the exact bound, its own continue-as-new. */
const suite = devServerForSuite();

/** Admits and starts one run the way the gateway does; its handle and the lock's answer. */
async function admit(taskQueue: string, lockId: number, keys = testKeys(1), maxActiveRuns = 20, deadlineMs = 30_000) {
  const instanceId = `test-${lockId}-${randomUUID()}`;
  const admitted: AdmittedRun = await admitRun(suite.env.client, taskQueues(taskQueue), {
    instanceId,
    input: { lockId, orgId: 'acme', requestedBy: 'tester', keys },
    requestHash: 'test',
    maxActiveRuns,
    acceptedAt: new Date(),
    deadline: Date.now() + deadlineMs,
  });
  return { ...admitted, handle: suite.env.client.workflow.getHandle<BulkAddKeysWorkflow>(instanceId) };
}

async function runsOf(workflowId: string): Promise<string[]> {
  const statuses: string[] = [];
  for await (const run of suite.env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    statuses.push(run.status.name);
  return statuses;
}

const exists = (workflowId: string) =>
  suite.env.client.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      () => true,
      (error: unknown) => (error instanceof WorkflowNotFoundError ? false : Promise.reject(error)),
    );

test('runs admitted at once take the lock in the order the lock accepted them, a gap apart', async () => {
  const backend = new ScriptedLockBackend();
  const { workers, taskQueue } = await testWorkers(suite.env, backend, testSettings(200));
  await workers.runUntil(async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, (_, n) => admit(taskQueue, 61, testKeys(1, n * 10))));
    await Promise.all(runs.map((r) => r.handle.result()));
    // The lock's answers number the runs 0..7 (runs before each): the journal must follow that order.
    const byAcceptance = [...runs].sort((a, b) => a.answer.ahead - b.answer.ahead);
    expect(byAcceptance.map((r) => r.answer.ahead)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(runs.filter((r) => r.answer.lock.holding)).toHaveLength(1);
    const expected = await Promise.all(byAcceptance.map(async (r) => (await r.handle.result()).keys[0]!.keyUuid));
    expect(backend.commands.map((c) => c.key.keyUuid)).toEqual(expected);
    for (const gap of gapsBetween(backend.commands)) expect(gap).toBeGreaterThanOrEqual(200);
  });
});

test('the bound is exact: 30 admissions at once on an empty lock of 20 admit exactly 20, and 20 runs exist', async () => {
  const backend = new ScriptedLockBackend();
  const { workers, taskQueue } = await testWorkers(suite.env, backend, testSettings(200));
  await workers.runUntil(async () => {
    // Long runs: none can close (and free its slot) while the admissions are decided.
    const settled = await Promise.allSettled(
      Array.from({ length: 30 }, (_, n) => admit(taskQueue, 62, testKeys(40, n * 100), 20)),
    );
    const admitted = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason);
    expect(admitted).toHaveLength(20);
    expect(refused).toHaveLength(10);
    expect(refused.every((reason) => reason instanceof LockFullError)).toBe(true);
    await until(
      async () =>
        (await suite.env.client.workflow.count(`WorkflowType = '${BULK_ADD_KEYS_WORKFLOW}' AND LockId = 62`)).count ===
        20,
    );
    // A cancelled queued run frees its slot: one more is admitted, and still no more than that.
    const queued = admitted.find((r) => !r.answer.lock.holding)!;
    await queued.handle.cancel();
    await expect(queued.handle.result()).rejects.toThrow();
    await until(async () => {
      try {
        await admit(taskQueue, 62, testKeys(1, 5_000), 20);
        return true;
      } catch (error) {
        if (error instanceof LockFullError) return false;
        throw error;
      }
    });
    await expect(admit(taskQueue, 62, testKeys(1, 5_001), 20)).rejects.toBeInstanceOf(LockFullError);
    const open = await suite.env.client.workflow.count(
      `WorkflowType = '${BULK_ADD_KEYS_WORKFLOW}' AND LockId = 62 AND ExecutionStatus = 'Running'`,
    );
    expect(open.count).toBe(20);
    // The cancelled one never touched the lock.
    expect(backend.commands.filter((c) => c.key.keyIndexNumber >= 5_000)).toHaveLength(0);
    for (const r of admitted) await r.handle.cancel().catch(() => undefined);
  });
}, 90_000);

test('a place whose run never started (its gateway died between the steps) is freed after its window', async () => {
  const backend = new ScriptedLockBackend();
  const settings = testSettings(100, { lockStartMarginMs: 1_000, lockHolderCheckIntervalMs: 500, lockIdleMs: 500 });
  const { workers, taskQueue } = await testWorkers(suite.env, backend, settings);
  await workers.runUntil(async () => {
    // Step 1 only: the lock gives the orphan the lock itself.
    const orphan = `test-64-${randomUUID()}`;
    const now = Date.now();
    const answer = await admitAtLock(suite.env.client, taskQueues(taskQueue), 64, {
      instanceId: orphan,
      maxActiveRuns: 20,
      acceptBy: now + 5_000,
      startBy: now + 1_000,
      requestHash: 'h',
      nonce: randomUUID(),
    });
    expect(answer.lock.holding).toBe(true);
    const next = await admit(taskQueue, 64);
    expect(next.answer.ahead).toBe(1);
    await next.handle.result();
    // Freed once its window (1 s) and margin (1 s) passed, at a review (the first one comes after 15 s): not before.
    const firstCommand = backend.commands[0]!.at;
    expect(firstCommand - now).toBeGreaterThanOrEqual(2_000);
    expect(firstCommand - now).toBeLessThan(25_000);
    expect(await exists(orphan)).toBe(false);
  });
}, 60_000);

test('a retried POST of an admitted run whose start never happened gets the same place and starts the run once', async () => {
  const backend = new ScriptedLockBackend();
  const { workers, taskQueue } = await testWorkers(suite.env, backend, testSettings(100));
  await workers.runUntil(async () => {
    const instanceId = `test-65-${randomUUID()}`;
    const first = await admitAtLock(suite.env.client, taskQueues(taskQueue), 65, {
      instanceId,
      maxActiveRuns: 1,
      acceptBy: Date.now() + 5_000,
      startBy: Date.now() + 6_000,
      requestHash: 'same',
      nonce: 'first-post',
    });
    // The lock is full (bound 1) with the orphan's place, yet its retry is admitted: it is that place.
    const retried = await admitRun(suite.env.client, taskQueues(taskQueue), {
      instanceId,
      input: { lockId: 65, orgId: 'acme', requestedBy: 'tester', keys: testKeys(2) },
      requestHash: 'same',
      maxActiveRuns: 1,
      acceptedAt: new Date(),
      deadline: Date.now() + 30_000,
    });
    expect(retried).toMatchObject({ replayed: true, answer: { nonce: 'first-post', lock: first.lock } });
    await suite.env.client.workflow.getHandle(instanceId).result();
    expect(backend.commands).toHaveLength(2);
    expect(await runsOf(instanceId)).toEqual(['COMPLETED']);
  });
});

test('an admission the lock gets to only after its deadline is refused, and nothing of it is left', async () => {
  const backend = new ScriptedLockBackend();
  const { workers, taskQueue } = await testWorkers(suite.env, backend, testSettings(100));
  const instanceId = `test-66-${randomUUID()}`;
  // No worker polls yet: the lock's workflow starts, its first task waits past acceptBy (deadline − task timeout − 1 s).
  const late = admitRun(suite.env.client, taskQueues(taskQueue), {
    instanceId,
    input: { lockId: 66, orgId: 'acme', requestedBy: 'tester', keys: testKeys(1) },
    requestHash: 'late',
    maxActiveRuns: 20,
    acceptedAt: new Date(),
    deadline: Date.now() + LOCK_WORKFLOW_TASK_TIMEOUT_MS + 2_500,
  });
  const outcome = late.catch((error: unknown) => error);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await workers.runUntil(async () => {
    expect(await outcome).toBeInstanceOf(AdmissionTimeoutError);
    expect(await exists(instanceId)).toBe(false);
    // The lock holds nothing of it: the next run gets the lock at once.
    const next = await admit(taskQueue, 66);
    expect(next.answer).toMatchObject({ ahead: 0, lock: { holding: true } });
    await next.handle.result();
  });
}, 60_000);
