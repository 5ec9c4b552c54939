import { existsSync } from 'node:fs';
import { processAlive as alive } from '@lockkeys/dev-stack';
import { keysFor } from './keys';
import { withTestStack, type TestStack } from './stack';

test('a whole stack on free ports: clients bound to it, an extra worker; afterwards no process and no scratch dir', async () => {
  let seen: { stack: TestStack; pids: number[] } | undefined;
  const failure = new Error('the body failed');
  await expect(
    withTestStack(
      { name: 'testing-stack', env: { KEY_COMMAND_GAP_MS: '0', LOCK_SIM_MIN_GAP_MS: '0' } },
      async (stack) => {
        expect(existsSync(stack.dataDir)).toBe(true);
        expect(await stack.gateway.readyz()).toBe(200);
        const extra = await stack.startExtraWorker();
        expect(Object.keys(stack.pids()).sort()).toEqual(
          ['gateway', 'lock-simulator', 'temporal', 'worker', extra.name].sort(),
        );

        const { instanceId } = await stack.gateway.startRun(11, keysFor(11, [1, 2]));
        const run = await stack.gateway.waitForRun(11, instanceId, { timeoutMs: 30_000 });
        expect(run).toMatchObject({ status: 'complete', summary: { added: 2 } });
        expect((await stack.simulator.journal(11)).map((c) => c.status)).toEqual([201, 201]);
        const temporal = await stack.temporalClient();
        expect((await temporal.workflow.getHandle(instanceId).describe()).status.name).toBe('COMPLETED');
        expect((await stack.workerMetrics()).some((s) => s.name === 'lockkeys_keys_added')).toBe(true);

        seen = { stack, pids: Object.values(stack.pids()) };
        throw failure;
      },
      () => undefined,
    ),
  ).rejects.toBe(failure);

  // Stopped although the body failed: every process by its pid, and the scratch dir.
  expect(seen!.pids.filter(alive)).toEqual([]);
  expect(existsSync(seen!.stack.dataDir)).toBe(false);
}, 120_000);
