import { progressQuery, type BulkAddKeysProgress, type RunSettings } from '@lockkeys/contracts';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import {
  startDevServer,
  startRun,
  testKeys as keys,
  testSettings as settings,
  testWorker,
  until,
} from './testing/environment';
import { gapsBetween, LockBackendFailureType, ScriptedLockBackend } from './testing/scripted-lock-backend';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startDevServer();
}, 120_000);
afterAll(async () => {
  await env?.teardown();
});

/** Runs one workflow to its end on a fresh worker with `lockBackend`. */
async function run(
  input: { lockId: number; keys: ReturnType<typeof keys> },
  lockBackend: ScriptedLockBackend,
  runSettings: RunSettings,
  duringRun?: (workflowId: string) => Promise<void>,
): Promise<BulkAddKeysProgress> {
  const { worker, taskQueue } = await testWorker(env, lockBackend, runSettings);
  return worker.runUntil(async () => {
    const handle = await startRun(env, taskQueue, input);
    await duringRun?.(handle.workflowId);
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
    expect(result.phase).toBe('done');
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

  test('a 422 (index out of range) fails that key only', async () => {
    const input = { lockId: 14, keys: keys(2) };
    const backend = new ScriptedLockBackend().script(input.keys[0]!.keyUuid, LockBackendFailureType.KeyIndexOutOfRange);
    const result = await run(input, backend, settings(100));
    expect(result.keys.map((k) => [k.status, k.error?.type ?? null])).toEqual([
      ['failed', 'KeyIndexOutOfRange'],
      ['added', null],
    ]);
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
    const backend = new ScriptedLockBackend().script(
      input.keys[0]!.keyUuid,
      ...Array(5).fill(LockBackendFailureType.LockOffline),
    );
    const result = await run(
      input,
      backend,
      settings(100, { addKey: { ...settings(100).addKey, maximumAttempts: 2 } }),
    );

    expect(backend.commands.map((c) => c.key.keyUuid)).toEqual([
      input.keys[0]!.keyUuid,
      input.keys[0]!.keyUuid,
      input.keys[1]!.keyUuid,
    ]);
    expect(result.keys[0]).toMatchObject({ status: 'failed', attempts: 2, error: { type: 'LockOffline' } });
    expect(result.keys[1]).toMatchObject({ status: 'added' });
  });

  test('progress is readable while the run goes on', async () => {
    const input = { lockId: 13, keys: keys(3) };
    let midRun: BulkAddKeysProgress | undefined;
    await run(input, new ScriptedLockBackend(), settings(1_000), async (workflowId) => {
      const handle = env.client.workflow.getHandle(workflowId);
      await until(async () => {
        midRun = await handle.query(progressQuery);
        return midRun.summary.added >= 1;
      });
    });
    expect(midRun?.phase).toBe('sending');
    expect(midRun?.summary.added).toBeGreaterThanOrEqual(1);
    expect(midRun?.summary.pending).toBeGreaterThanOrEqual(1);
    expect(midRun?.keys[2]?.status).toBe('pending');
  });
});

describe('cancel', () => {
  test('mid-run: the command in flight finishes, every key not yet sent ends cancelled, the run is cancelled', async () => {
    const backend = new ScriptedLockBackend(1_500); // each command takes 1.5 s at the lock
    const { worker, taskQueue } = await testWorker(env, backend, settings(500));
    await worker.runUntil(async () => {
      const handle = await startRun(env, taskQueue, { lockId: 21, keys: keys(4) });
      // Cancel while the second key's command is at the lock.
      await until(async () => backend.commands.length === 2);
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      expect((await handle.describe()).status.name).toBe('CANCELLED');

      // A closed run still answers its progress query (the worker replays it).
      const progress = await handle.query(progressQuery);
      expect(progress.keys.map((k) => k.status)).toEqual(['added', 'added', 'cancelled', 'cancelled']);
      expect(progress.summary).toMatchObject({ added: 2, cancelled: 2, pending: 0 });
      expect(backend.commands).toHaveLength(2);
    });
  });

  test('a key waiting for its retry is not sent again', async () => {
    const input = { lockId: 22, keys: keys(2) };
    const backend = new ScriptedLockBackend().script(
      input.keys[0]!.keyUuid,
      ...Array(5).fill(LockBackendFailureType.LockOffline),
    );
    const slowRetries = settings(100, { addKey: { ...settings(100).addKey, initialIntervalMs: 30_000 } });
    const { worker, taskQueue } = await testWorker(env, backend, slowRetries);
    await worker.runUntil(async () => {
      const handle = await startRun(env, taskQueue, input);
      await until(async () => backend.commands.length === 1);
      await new Promise((r) => setTimeout(r, 300)); // the failure is reported; the retry waits 30 s
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      const progress = await handle.query(progressQuery);
      expect(progress.keys.map((k) => k.status)).toEqual(['cancelled', 'cancelled']);
      expect(backend.commands).toHaveLength(1);
    });
  });
});

describe('one lock at a time', () => {
  test('three runs on one lock never interleave and stay a gap apart; a run on another lock is not held up', async () => {
    const backend = new ScriptedLockBackend();
    const { worker, taskQueue } = await testWorker(env, backend, settings(400));
    await worker.runUntil(async () => {
      const runsOnA = [await startRun(env, taskQueue, { lockId: 31, keys: keys(3, 0) })];
      runsOnA.push(
        ...(await Promise.all([1, 2].map((n) => startRun(env, taskQueue, { lockId: 31, keys: keys(3, 10 * n) })))),
      );
      // While the first holds lock 31, the others wait: queued keys stay pending.
      await until(async () => backend.commands.length >= 1);
      const phases = await Promise.all(runsOnA.map((h) => h.query(progressQuery)));
      const waiting = phases.filter((p) => p.phase === 'waitingForLock');
      expect(waiting).toHaveLength(2);
      expect(waiting.every((p) => p.keys.every((k) => k.status === 'pending'))).toBe(true);

      const other = await startRun(env, taskQueue, { lockId: 32, keys: keys(2) });
      const otherStartedAt = Date.now();
      await Promise.all([...runsOnA, other].map((h) => h.result()));

      const onA = backend.commands.filter((c) => c.lockId === 31);
      expect(onA).toHaveLength(9);
      for (const gap of gapsBetween(onA)) expect(gap).toBeGreaterThanOrEqual(400);
      // Each run's keys go out together: runs do not interleave on the lock.
      const order = onA.map((c) => Math.floor(c.key.keyIndexNumber / 10));
      const blocks = order.filter((run, i) => i === 0 || run !== order[i - 1]);
      expect(blocks).toHaveLength(3);
      expect(new Set(blocks).size).toBe(3);
      // Lock 32's first command did not wait for lock 31's queue (~9 × 400 ms).
      const firstOnB = backend.commands.find((c) => c.lockId === 32)!;
      expect(firstOnB.at - otherStartedAt).toBeLessThan(1_500);
    });
  });

  test('a run cancelled while waiting for the lock leaves the queue; the next run gets the lock', async () => {
    const backend = new ScriptedLockBackend();
    const { worker, taskQueue } = await testWorker(env, backend, settings(300));
    await worker.runUntil(async () => {
      const first = await startRun(env, taskQueue, { lockId: 33, keys: keys(3, 0) });
      await until(async () => backend.commands.length >= 1);
      const second = await startRun(env, taskQueue, { lockId: 33, keys: keys(2, 10) });
      const third = await startRun(env, taskQueue, { lockId: 33, keys: keys(2, 20) });
      await until(async () => (await second.query(progressQuery)).phase === 'waitingForLock');
      await second.cancel();
      await expect(second.result()).rejects.toThrow();
      await first.result();
      await third.result();
      expect(backend.commands.map((c) => c.key.keyIndexNumber)).toEqual([0, 1, 2, 20, 21]);
    });
  });

  test('a holder that was terminated does not block the lock for ever', async () => {
    const backend = new ScriptedLockBackend(2_000);
    const quickCheck = settings(200, { lockHolderCheckIntervalMs: 1_000 });
    const { worker, taskQueue } = await testWorker(env, backend, quickCheck);
    await worker.runUntil(async () => {
      const first = await startRun(env, taskQueue, { lockId: 34, keys: keys(3, 0) });
      await until(async () => backend.commands.length >= 1);
      const second = await startRun(env, taskQueue, { lockId: 34, keys: keys(1, 10) });
      await first.terminate('operator stopped it');
      const result = (await second.result()) as BulkAddKeysProgress;
      expect(result.summary.added).toBe(1);
      // The terminated run's command may still have been at the lock: the next one waits out its timeout.
      const [firstCommand, nextCommand] = backend.commands;
      expect(nextCommand!.at - firstCommand!.at).toBeGreaterThanOrEqual(quickCheck.addKey.startToCloseTimeoutMs);
    });
  });
});
