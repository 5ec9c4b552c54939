/**
 * Records the histories of real runs into `histories/<generation>/<engine>/` (the determinism guard's fixtures):
 *   pnpm --filter @lockkeys/workflows record-histories                     (on a dev server it starts itself)
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 pnpm --filter @lockkeys/workflows record-histories -- --engine postgres
 * Run it only on purpose — after a deliberate change of workflow logic — and commit the result.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  lockQueueWorkflowId,
  pauseSignal,
  resumeSignal,
  webhookEndpointQuery,
  webhookEndpointWorkflowId,
} from '@lockkeys/contracts';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startDevServer, startRun, testKeys, testSettings, testWorkers, until } from './environment';
import { LockBackendFailureType, ScriptedLockBackend } from './scripted-lock-backend';

export const HISTORIES_DIR = join(__dirname, '..', '..', 'histories');
/** The generation of the workflow code the recordings belong to (see README "Determinism"). */
export const CURRENT_GENERATION = 'lock-admission';

/** The scenarios every engine's folder holds (a continue-as-new scenario has one file per run). */
export const SCENARIOS = [
  'cancel',
  'cancel-queued',
  'continue-as-new',
  'failed-key',
  'happy-path',
  'lock-holder',
  'lock-queue',
  'pause-resume',
  'remote-activities',
  'retries',
  'unknown-lock',
  'waiting-for-lock',
  'webhook',
] as const;

/**
 * Recorded on the dev engine only: the recorder's dev server suggests continue-as-new early, so a lock's workflow
 * crosses it after a few runs; on PostgreSQL it would take a few hundred.
 */
export const DEV_ONLY_SCENARIOS = ['lock-queue-continue-as-new'] as const;

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { engine: { type: 'string', default: 'dev' } } });
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  // On the dev engine the recorder starts its own server; for another engine it connects to TEMPORAL_ADDRESS.
  const address = values.engine === 'dev' ? undefined : (process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233');
  const env = address
    ? await TestWorkflowEnvironment.createFromExistingServer({ address })
    : await startDevServer(['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=60']);
  const dir = join(HISTORIES_DIR, CURRENT_GENERATION, values.engine!);
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const tag = Date.now().toString(36);

  /** Saves every run of a workflow (continue-as-new makes several), oldest first. */
  async function save(name: string, workflowId: string): Promise<void> {
    const runIds: string[] = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runIds.push(run.runId);
    runIds.reverse();
    for (const [i, runId] of runIds.entries()) {
      const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
      const file = `${name}${runIds.length > 1 ? `.run${i + 1}` : ''}.json`;
      writeFileSync(join(dir, file), `${historyToJSON(history)}\n`);
      written.push(file);
    }
  }
  const settle = (handle: WorkflowHandle) => handle.result().catch(() => undefined);

  // A receiver that refuses the first delivery, so the webhook history has a failed attempt and a back-off.
  let deliveries = 0;
  const receiver = createServer((_req, res) => res.writeHead(deliveries++ === 0 ? 503 : 204).end());
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const secret = `whsec_${Buffer.from('recorder-secret-0123456789abcdef').toString('base64')}`;

  // The one organization with an endpoint: of this recording only (an endpoint's workflow ID is its organization's).
  const hooksOrg = `hooks-${tag}`;

  try {
    const backend = new ScriptedLockBackend();
    const { workers, taskQueue } = await testWorkers(
      env,
      backend,
      testSettings(1_000, {
        maxKeysPerRun: 2,
        lockIdleMs: 1_000,
        lockHolderCheckIntervalMs: 1_000,
      }),
      new Map([[hooksOrg, { url: hookUrl, secret }]]),
    );
    const id = (name: string) => `history-${name}-${tag}`;
    // Locks of this recording only: a lock's workflow ID is the lock's, and a server may have seen these numbers.
    const lockBase = 100_000 + (Date.now() % 800_000) * 10;
    const lock = (n: number) => lockBase + n;
    // The same scenario with addKey as regular activity tasks (RunSettings.addKey.activity = 'remote').
    const remote = testSettings(1_000, { maxKeysPerRun: 2, lockIdleMs: 1_000, lockHolderCheckIntervalMs: 1_000 });
    const remoteWorkers = await testWorkers(env, backend, {
      ...remote,
      addKey: { ...remote.addKey, activity: 'remote' },
    });
    await remoteWorkers.workers.runUntil(() =>
      startRun(env, remoteWorkers.taskQueue, { lockId: lock(9), keys: testKeys(3) }, id('remote-activities')).then(
        settle,
      ),
    );
    await workers.runUntil(async () => {
      const happy = await startRun(
        env,
        taskQueue,
        { lockId: lock(1), keys: testKeys(2), orgId: hooksOrg },
        id('happy-path'),
      );
      await settle(happy);
      // Its event: refused once, then delivered after the endpoint's back-off.
      const endpoint = env.client.workflow.getHandle(webhookEndpointWorkflowId(hooksOrg));
      await until(async () => (await endpoint.query(webhookEndpointQuery)).delivered === 1);
      await settle(env.client.workflow.getHandle(lockQueueWorkflowId(lock(1))));

      const retryKeys = testKeys(1);
      backend.script(retryKeys[0]!.keyUuid, LockBackendFailureType.LockOffline, LockBackendFailureType.LockBusy);
      await settle(await startRun(env, taskQueue, { lockId: lock(2), keys: retryKeys }, id('retries')));

      const failedKeys = testKeys(2);
      backend.script(failedKeys[0]!.keyUuid, LockBackendFailureType.SlotOccupied);
      await settle(await startRun(env, taskQueue, { lockId: lock(3), keys: failedKeys }, id('failed-key')));

      const unknownLock = testKeys(2);
      backend.script(unknownLock[0]!.keyUuid, LockBackendFailureType.LockNotFound);
      await settle(await startRun(env, taskQueue, { lockId: lock(4), keys: unknownLock }, id('unknown-lock')));

      const cancelled = await startRun(env, taskQueue, { lockId: lock(5), keys: testKeys(2) }, id('cancel'));
      await until(async () => backend.commands.some((c) => c.lockId === lock(5)));
      await cancelled.cancel();
      await settle(cancelled);

      await settle(await startRun(env, taskQueue, { lockId: lock(6), keys: testKeys(5) }, id('continue-as-new')));

      // Admitted in this order, so the first holds the lock and the others queue; the third is cancelled while it
      // waits.
      const holder = await startRun(env, taskQueue, { lockId: lock(7), keys: testKeys(2) }, id('lock-holder'));
      const waiter = await startRun(env, taskQueue, { lockId: lock(7), keys: testKeys(1, 50) }, id('waiting-for-lock'));
      const cancelledWaiter = await startRun(
        env,
        taskQueue,
        { lockId: lock(7), keys: testKeys(1, 60) },
        id('cancel-queued'),
      );
      await cancelledWaiter.cancel();
      // A few more, so the lock's history is long enough for the dev server to suggest continue-as-new.
      const more = [];
      for (let n = 0; n < 4; n++)
        more.push(await startRun(env, taskQueue, { lockId: lock(7), keys: testKeys(1, 70 + n) }));
      await Promise.all([holder, waiter, cancelledWaiter, ...more].map(settle));
      await settle(env.client.workflow.getHandle(lockQueueWorkflowId(lock(7))));

      const paused = await startRun(env, taskQueue, { lockId: lock(8), keys: testKeys(3) }, id('pause-resume'));
      await until(async () => backend.commands.some((c) => c.lockId === lock(8)));
      await paused.signal(pauseSignal);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await paused.signal(resumeSignal);
      await settle(paused);
    });
    const lockScenarios: string[] = ['lock-queue', 'lock-queue-continue-as-new', 'webhook'];
    for (const name of SCENARIOS.filter((s) => !lockScenarios.includes(s))) await save(name, id(name));
    // Lock 1 admitted one run (one workflow run); lock 7 three, so it continued as new once.
    await save('lock-queue', lockQueueWorkflowId(lock(1)));
    // Lock 7's workflow continued as new on a server that suggests it early (dev); elsewhere it is one run.
    if (values.engine === 'dev') await save('lock-queue-continue-as-new', lockQueueWorkflowId(lock(7)));
    await save('webhook', webhookEndpointWorkflowId(hooksOrg));
    process.stdout.write(`recorded ${written.length} histories in ${dir}:\n${written.join('\n')}\n`);
  } finally {
    receiver.close();
    await env.teardown();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
