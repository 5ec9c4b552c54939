import { startStack, type Stack } from '@lockkeys/dev-stack';
import { Client, Connection } from '@temporalio/client';
import { GatewayClient, keysFor } from './api-client';
import { eventually, freePorts, journal, ROOT_DIR, scratchDir, slots } from './harness';

/**
 * 1000 keys in one request, on a server that suggests continue-as-new early: every key is added exactly
 * once and the status survives continue-as-new. The gap is lowered in this test only (at the worker
 * and at the simulator), so the batch takes seconds, not 17 minutes.
 */
let stack: Stack;
let connection: Connection;

beforeAll(async () => {
  stack = await startStack({
    rootDir: ROOT_DIR,
    dataDir: scratchDir('big'),
    ports: await freePorts(),
    env: {
      LOG_LEVEL: 'warn',
      KEY_COMMAND_GAP_MS: '0',
      LOCK_SIM_MIN_GAP_MS: '0',
      KEYS_PER_WORKFLOW_RUN: '100000',
      MAX_KEYS_PER_REQUEST: '5000',
    },
    temporalArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=1500'],
    print: () => undefined,
  });
  connection = await Connection.connect({ address: stack.temporalAddress });
});

afterAll(async () => {
  await connection?.close();
  await stack?.stop();
});

test('a 1000-key run crosses continue-as-new at least twice and adds every key exactly once', async () => {
  const api = new GatewayClient(stack.gatewayUrl);
  const indexes = Array.from({ length: 1000 }, (_, i) => i);
  const { status, body } = await api.bulkAddKeys(701, keysFor(701, indexes, 'big'));
  expect(status).toBe(202);

  const done = await eventually(
    async () => {
      const { body: run } = await api.status(701, body.instanceId);
      return run.status === 'complete' ? run : undefined;
    },
    300_000,
    'the 1000-key run to complete',
  );
  expect(done.summary).toEqual({ total: 1000, added: 1000, failed: 0, pending: 0, cancelled: 0 });
  expect(done.keys.map((k) => k.keyIndexNumber)).toEqual(indexes);

  const commands = await journal(stack.simulatorUrl, 701);
  expect(commands).toHaveLength(1000);
  expect(commands.every((c) => c.status === 201)).toBe(true);
  expect(new Set(commands.map((c) => c.keyUuid)).size).toBe(1000);
  expect((await slots(stack.simulatorUrl, 701)).length).toBe(1000);

  const runs: string[] = [];
  for await (const run of new Client({ connection }).workflow.list({ query: `WorkflowId = '${body.instanceId}'` })) {
    runs.push(run.status.name);
  }
  expect(runs.filter((s) => s === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(2);
});
