import { lockQueueWorkflowId, progressQuery } from '@lockkeys/contracts';
import { devServerForSuite, startRun, testKeys, testSettings, testWorkers, until } from './testing/environment';
import { gapsBetween, ScriptedLockBackend } from './testing/scripted-lock-backend';

/** Long lists: the server suggests continue-as-new early here, so a few dozen keys cross it several times. */
const suite = devServerForSuite(['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=150']);

async function runsOf(workflowId: string): Promise<string[]> {
  const statuses: string[] = [];
  for await (const run of suite.env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    statuses.push(run.status.name);
  return statuses;
}

test('a run crosses continue-as-new when the server suggests it: every key once, in order, progress intact', async () => {
  const backend = new ScriptedLockBackend();
  // No gap (this test is about history length) and regular activities, so that each key is a workflow task of
  // its own: with no timer between them, local activities would all run in the first task.
  const noGap = testSettings(0);
  const { workers, taskQueue } = await testWorkers(suite.env, backend, {
    ...noGap,
    addKey: { ...noGap.addKey, activity: 'remote' },
  });
  const keys = testKeys(80);
  await workers.runUntil(async () => {
    const handle = await startRun(suite.env, taskQueue, { lockId: 41, keys });
    // After the first continue-as-new, the query (on the newest run) still knows the keys of the first.
    await until(async () => (await runsOf(handle.workflowId)).includes('CONTINUED_AS_NEW'), 30_000);
    const mid = await handle.query(progressQuery);
    expect(mid.keys.map((k) => k.keyUuid)).toEqual(keys.map((k) => k.keyUuid));
    expect(mid.summary.added).toBeGreaterThan(5);

    const result = await handle.result();
    expect(result.summary).toMatchObject({ total: 80, added: 80 });
    expect(backend.commands.map((c) => c.key.keyUuid)).toEqual(keys.map((k) => k.keyUuid));
    const runs = await runsOf(handle.workflowId);
    expect(runs.filter((s) => s === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(2);
    // The workflow keeps its LockId and memo through continue-as-new (the gateway finds and authorizes it by them).
    const description = await handle.describe();
    expect(description.memo).toMatchObject({ orgId: 'acme', summary: { total: 80, added: 80 } });
    expect(await suite.env.client.workflow.count(`WorkflowId = '${handle.workflowId}' AND LockId = 41`)).toMatchObject({
      count: runs.length,
    });
  });
});

test('every maxKeysPerRun keys even without a suggestion', async () => {
  const backend = new ScriptedLockBackend();
  const { workers, taskQueue } = await testWorkers(suite.env, backend, testSettings(0, { maxKeysPerRun: 4 }));
  await workers.runUntil(async () => {
    const handle = await startRun(suite.env, taskQueue, { lockId: 42, keys: testKeys(10) });
    await handle.result();
    expect(backend.commands).toHaveLength(10);
    expect((await runsOf(handle.workflowId)).filter((s) => s === 'CONTINUED_AS_NEW')).toHaveLength(2);
  });
});

test('cancel after continue-as-new: keys added before stay added, the rest are cancelled', async () => {
  const backend = new ScriptedLockBackend();
  const { workers, taskQueue } = await testWorkers(suite.env, backend, testSettings(200, { maxKeysPerRun: 3 }));
  await workers.runUntil(async () => {
    const handle = await startRun(suite.env, taskQueue, { lockId: 43, keys: testKeys(10) });
    await until(async () => backend.commands.length >= 5);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    const progress = await handle.query(progressQuery);
    const sent = backend.commands.length;
    expect(progress.summary).toMatchObject({ added: sent, cancelled: 10 - sent, pending: 0 });
    // The lock is free again: a new run on it goes through.
    const next = await startRun(suite.env, taskQueue, { lockId: 43, keys: testKeys(1, 90) });
    await next.result();
  });
});

test('a lock’s workflow continues as new when the server suggests it, its book with it: every run in acceptance order', async () => {
  const backend = new ScriptedLockBackend(150);
  const { workers, taskQueue } = await testWorkers(suite.env, backend, testSettings(100));
  await workers.runUntil(async () => {
    // Queued behind a first run that holds the lock a while, so the book is full when the lock continues as new.
    const runs = [];
    for (let n = 0; n < 16; n++)
      runs.push(await startRun(suite.env, taskQueue, { lockId: 44, keys: testKeys(2, n * 10) }));
    await Promise.all(runs.map((r) => r.result()));
    expect(backend.commands.map((c) => Math.floor(c.key.keyIndexNumber / 10))).toEqual(
      Array.from({ length: 16 }, (_, n) => [n, n]).flat(),
    );
    for (const gap of gapsBetween(backend.commands)) expect(gap).toBeGreaterThanOrEqual(100);
    const lockRuns = await runsOf(lockQueueWorkflowId(44));
    expect(lockRuns.filter((s) => s === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(1);
  });
}, 90_000);
