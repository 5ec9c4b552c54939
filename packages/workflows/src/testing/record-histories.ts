/**
 * Records the histories of real runs into `histories/` (the determinism guard's fixtures):
 *   pnpm --filter @lockkeys/workflows record-histories
 * Run it only on purpose — after a deliberate, versioned change of workflow logic — and commit the result.
 */
import { lockMutexWorkflowId } from '@lockkeys/contracts';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer, startRun, testKeys, testSettings, testWorker, until } from './environment';
import { LockBackendFailureType, ScriptedLockBackend } from './scripted-lock-backend';

export const HISTORIES_DIR = join(__dirname, '..', '..', 'histories');
/** New recordings go here; older generations stay in their own folders and keep replaying. */
const CURRENT_DIR = join(HISTORIES_DIR, 'current');

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await startDevServer();
  mkdirSync(CURRENT_DIR, { recursive: true });
  const written: string[] = [];

  /** Saves every run of a workflow (continue-as-new makes several), oldest first. */
  async function save(name: string, workflowId: string): Promise<void> {
    const runIds: string[] = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runIds.push(run.runId);
    runIds.reverse();
    for (const [i, runId] of runIds.entries()) {
      const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
      const file = `${name}${runIds.length > 1 ? `.run${i + 1}` : ''}.json`;
      writeFileSync(join(CURRENT_DIR, file), `${historyToJSON(history)}\n`);
      written.push(file);
    }
  }
  const settle = (handle: WorkflowHandle) => handle.result().catch(() => undefined);

  try {
    const backend = new ScriptedLockBackend();
    const { worker, taskQueue } = await testWorker(
      env,
      backend,
      testSettings(1_000, { maxKeysPerRun: 2, lockMutexIdleMs: 1_000 }),
    );
    await worker.runUntil(async () => {
      const happy = await startRun(env, taskQueue, { lockId: 1, keys: testKeys(2) }, 'history-happy-path');
      await settle(happy);

      const retryKeys = testKeys(1);
      backend.script(retryKeys[0]!.keyUuid, LockBackendFailureType.LockOffline, LockBackendFailureType.LockBusy);
      await settle(await startRun(env, taskQueue, { lockId: 2, keys: retryKeys }, 'history-retries'));

      const failedKeys = testKeys(2);
      backend.script(failedKeys[0]!.keyUuid, LockBackendFailureType.SlotOccupied);
      await settle(await startRun(env, taskQueue, { lockId: 3, keys: failedKeys }, 'history-failed-key'));

      const unknownLock = testKeys(2);
      backend.script(unknownLock[0]!.keyUuid, LockBackendFailureType.LockNotFound);
      await settle(await startRun(env, taskQueue, { lockId: 4, keys: unknownLock }, 'history-unknown-lock'));

      const cancelled = await startRun(env, taskQueue, { lockId: 5, keys: testKeys(2) }, 'history-cancel');
      await until(async () => backend.commands.some((c) => c.lockId === 5));
      await cancelled.cancel();
      await settle(cancelled);

      await settle(await startRun(env, taskQueue, { lockId: 6, keys: testKeys(5) }, 'history-continue-as-new'));

      const holder = await startRun(env, taskQueue, { lockId: 7, keys: testKeys(2) }, 'history-lock-holder');
      const waiter = await startRun(env, taskQueue, { lockId: 7, keys: testKeys(1, 50) }, 'history-waiting-for-lock');
      await Promise.all([settle(holder), settle(waiter)]);
      await settle(env.client.workflow.getHandle(lockMutexWorkflowId(7)));
    });
    for (const [name, id] of [
      ['happy-path', 'history-happy-path'],
      ['retries', 'history-retries'],
      ['failed-key', 'history-failed-key'],
      ['unknown-lock', 'history-unknown-lock'],
      ['cancel', 'history-cancel'],
      ['continue-as-new', 'history-continue-as-new'],
      ['lock-holder', 'history-lock-holder'],
      ['waiting-for-lock', 'history-waiting-for-lock'],
      ['lock-mutex', lockMutexWorkflowId(7)],
    ]) {
      await save(name!, id!);
    }
    process.stdout.write(`recorded ${written.length} histories in ${CURRENT_DIR}:\n${written.join('\n')}\n`);
  } finally {
    await env.teardown();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
